"""platform analytics (seed 001): profiles, segment_memberships, segment_days, segment_overlaps
and events.user_id in the events database; segments in the accounts database
(storage/platform_schema.py, docs/platform.md)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

IDENTIFIED = sa.text("user_id IS NOT NULL")


def upgrade() -> None:
    op.add_column("events", sa.Column("user_id", sa.String(length=200), nullable=True))
    op.create_index(
        "ix_events_identified",
        "events",
        ["site_id", "name", "ts", "user_id"],
        sqlite_where=IDENTIFIED,
        postgresql_where=IDENTIFIED,
    )
    op.create_table(
        "profiles",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("traits", sa.Text(), nullable=False),
        sa.Column("first_seen_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_seen_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiles")),
    )
    op.create_index("uq_profiles_tenant_user", "profiles", ["tenant_id", "user_id"], unique=True)
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("match", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("member_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_computed_at", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_segments_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
    )
    op.create_index("ix_segments_tenant_status", "segments", ["tenant_id", "status"])
    op.create_table(
        "segment_memberships",
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("segment_id", "day", "profile_id", name=op.f("pk_segment_memberships")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "segment_days",
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("segment_id", "day", name=op.f("pk_segment_days")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "segment_overlaps",
        sa.Column("seg_a", sa.Integer(), nullable=False),
        sa.Column("seg_b", sa.Integer(), nullable=False),
        sa.Column("day_a", sa.Integer(), nullable=False),
        sa.Column("day_b", sa.Integer(), nullable=False),
        sa.Column("overlap", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seg_a", "seg_b", name=op.f("pk_segment_overlaps")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("segment_overlaps")
    op.drop_table("segment_days")
    op.drop_table("segment_memberships")
    op.drop_index("ix_segments_tenant_status", table_name="segments")
    op.drop_table("segments")
    op.drop_index("uq_profiles_tenant_user", table_name="profiles")
    op.drop_table("profiles")
    op.drop_index("ix_events_identified", table_name="events")
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("user_id")

"""platform analytics, ops side: subscriptions (plan, billing period, limits), activations
(connectors syncing a segment), activation_sync_logs and activation_members, all in the accounts database
(storage/plans_schema.py, docs/platform.md)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _tenant_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("plan_name", sa.String(length=100), nullable=False),
        sa.Column("plan_tier", sa.String(length=32), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("period_end", sa.String(length=10), nullable=False),
        sa.Column("events_limit", sa.BigInteger(), nullable=False),
        sa.Column("users_limit", sa.BigInteger(), nullable=False),
        sa.Column("segments_limit", sa.Integer(), nullable=False),
        sa.Column("ai_credits_limit", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        _tenant_key("subscriptions"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_subscriptions")),
    )
    op.create_table(
        "activations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("connector_type", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("list_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("synced_day", sa.Integer(), nullable=True),
        sa.Column("last_synced_at", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        _tenant_key("activations"),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_activations_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activations")),
    )
    op.create_index(op.f("ix_activations_tenant_id"), "activations", ["tenant_id"])
    op.create_index(op.f("ix_activations_segment_id"), "activations", ["segment_id"])
    op.create_table(
        "activation_sync_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activation_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("user_count", sa.Integer(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("synced_at", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["activation_id"],
            ["activations.id"],
            name=op.f("fk_activation_sync_logs_activation_id_activations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activation_sync_logs")),
    )
    op.create_index("ix_activation_sync_logs_activation", "activation_sync_logs", ["activation_id", "id"])
    op.create_table(
        "activation_members",
        sa.Column("activation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["activation_id"],
            ["activations.id"],
            name=op.f("fk_activation_members_activation_id_activations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("activation_id", "user_id", name=op.f("pk_activation_members")),
    )


def downgrade() -> None:
    op.drop_table("activation_members")
    op.drop_table("activation_sync_logs")
    op.drop_index(op.f("ix_activations_segment_id"), table_name="activations")
    op.drop_index(op.f("ix_activations_tenant_id"), table_name="activations")
    op.drop_table("activations")
    op.drop_table("subscriptions")

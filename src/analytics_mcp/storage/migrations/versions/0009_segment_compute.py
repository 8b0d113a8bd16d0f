"""segments at scale (issue 15): ix_events_identified covers every column a behaviour rule reads
(visit_id, pathname, revenue, currency after site_id, name, ts, user_id), so each rule reads its
window from the index alone; segment_totals keeps a tenant's distinct member count for the
latest snapshots it was counted over (docs/platform.md, "Computing")

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

IDENTIFIED = sa.text("user_id IS NOT NULL")
NARROW = ["site_id", "name", "ts", "user_id"]
WIDE = [*NARROW, "visit_id", "pathname", "revenue", "currency"]


def _identified(columns: list[str]) -> None:
    op.drop_index("ix_events_identified", table_name="events")
    op.create_index(
        "ix_events_identified", "events", columns, sqlite_where=IDENTIFIED, postgresql_where=IDENTIFIED
    )


def upgrade() -> None:
    _identified(WIDE)
    op.create_table(
        "segment_totals",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("snapshots", sa.Text(), nullable=False),
        sa.Column("total_members", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_segment_totals")),
    )


def downgrade() -> None:
    op.drop_table("segment_totals")
    _identified(NARROW)

"""kept rollups on ClickHouse (issue 14): rollup_stamps records, per (site, local day), the time
zone and the largest event and visit id and version the day's kept rollup rows were computed
under (storage/kept_rollups_schema.py, docs/rollups.md "Kept rollups on ClickHouse")

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollup_stamps",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("zone", sa.Text(), nullable=False),
        sa.Column("events_id", sa.BigInteger(), nullable=False),
        sa.Column("events_version", sa.BigInteger(), nullable=False),
        sa.Column("visits_id", sa.BigInteger(), nullable=False),
        sa.Column("visits_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "day", name=op.f("pk_rollup_stamps")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("rollup_stamps")

"""kept subsets on ClickHouse (issue 14): rollup_subsets names each kept subset (the visits of one
site passing a set of visit filters); its rollup rows and stamps are kept under the key -id
(storage/kept_rollups_schema.py, docs/rollups.md "Kept subsets")

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollup_subsets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("used_day", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_subsets")),
        sa.UniqueConstraint("site_id", "filters", name=op.f("uq_rollup_subsets_site_id_filters")),
    )


def downgrade() -> None:
    op.drop_table("rollup_subsets")

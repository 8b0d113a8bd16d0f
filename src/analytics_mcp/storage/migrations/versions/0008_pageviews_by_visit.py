"""events: a partial index of pageviews by visit (visit_id, ts) covering what pages and visitors
read (site_id, pathname, visitor_id, engaged_ms, gap_ms), so reports under a visit filter read the
passing visits' pageviews only (docs/engine-performance.md)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PAGEVIEWS = sa.text("name = 'pageview'")


def upgrade() -> None:
    op.create_index(
        "ix_events_visit_pageviews",
        "events",
        ["visit_id", "ts", "site_id", "pathname", "visitor_id", "engaged_ms", "gap_ms", "name"],
        sqlite_where=PAGEVIEWS,
        postgresql_where=PAGEVIEWS,
    )


def downgrade() -> None:
    op.drop_index("ix_events_visit_pageviews", table_name="events")

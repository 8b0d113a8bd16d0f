"""events: a partial index of pageviews by path (site_id, pathname, ts) covering what page
filters read (visitor_id, visit_id, engaged_ms, gap_ms), so a filter page==X reads the
matching pageviews only (docs/engine-performance.md)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PAGEVIEWS = sa.text("name = 'pageview'")


def upgrade() -> None:
    op.create_index(
        "ix_events_pageview_path",
        "events",
        ["site_id", "pathname", "ts", "visitor_id", "visit_id", "engaged_ms", "gap_ms", "name"],
        sqlite_where=PAGEVIEWS,
        postgresql_where=PAGEVIEWS,
    )


def downgrade() -> None:
    op.drop_index("ix_events_pageview_path", table_name="events")

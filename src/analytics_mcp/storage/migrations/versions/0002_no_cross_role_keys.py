"""no foreign key from the events tables to the accounts tables

The events tables may live in another database than the accounts (ANALYTICS_EVENTS_URL, see
storage/roles.py), where the goals and experiments they name do not exist: goal_completions and
experiment_events keep the ids without a foreign key.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DROPPED = (
    ("goal_completions", "fk_goal_completions_goal_id_goals", ["goal_id"], "goals"),
    ("experiment_events", "fk_experiment_events_experiment_id_experiments", ["experiment_id"], "experiments"),
    (
        "experiment_events",
        "fk_experiment_events_variant_id_experiment_variants",
        ["variant_id"],
        "experiment_variants",
    ),
)


def upgrade() -> None:
    for table, name, _columns, _referred in DROPPED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table, name, columns, referred in DROPPED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(name, referred, columns, ["id"], ondelete="CASCADE")

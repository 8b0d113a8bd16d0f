"""A/B testing (docs/ab-testing.md): experiments and their variants, the tracking call that feeds the one
ingestion pipeline, and the per-variant report with its statistics.

- `store`: experiments and variants (sync, caller's transaction), selection rules.
- `tracking`: validate a `POST /api/v1/metrics/track` body and turn it into a `PendingEvent`.
- `report`: per-variant numbers over a date range (SQL), shaped by `shapes` for each door.
- `stats`: uplift confidence intervals, P(better), sample-ratio mismatch; stdlib only.
"""

from __future__ import annotations

from analytics_mcp.experiments.model import Experiment, Variant
from analytics_mcp.experiments.store import (
    choose_experiment,
    create_experiment,
    get_experiment,
    list_experiments,
    set_status,
)

__all__ = [
    "Experiment",
    "Variant",
    "choose_experiment",
    "create_experiment",
    "get_experiment",
    "list_experiments",
    "set_status",
]

"""`GET /api/v1/metrics/summary` and `GET /api/v1/metrics/variants` (seed 000): an experiment's
numbers for an admin. The bodies are the seed's, unwrapped (no {"data": ...}); /variants adds the
statistics (uplift with its 95 % interval, P(better), sample-ratio check) and scroll bands after
the documented fields.

Auth is the framework's: any principal with the `admin` scope (an API token today; a dashboard
session principal once it carries that scope). Handlers only read `ctx.tenant`.
"""

from __future__ import annotations

from functools import partial

from pydantic import BaseModel, Field

from analytics_mcp.experiments.report import ExperimentData
from analytics_mcp.experiments.service import seed_report_data
from analytics_mcp.experiments.shapes import MetricsSummary, MetricsVariants, summary, variants_report
from analytics_mcp.http_api.framework import ApiContext, api_route

TAGS = ("metrics",)
_DATE = {"format": "date"}


class MetricsParams(BaseModel):
    start_date: str | None = Field(
        None,
        max_length=10,
        json_schema_extra=_DATE,
        description="Start date (YYYY-MM-DD, site's time zone), inclusive; default: 7 days before end_date",
    )
    end_date: str | None = Field(
        None,
        max_length=10,
        json_schema_extra=_DATE,
        description="End date (YYYY-MM-DD), inclusive; default: today",
    )
    variant: str | None = Field(None, max_length=64, description="Only this variant (slug)")
    experiment: str | None = Field(
        None,
        max_length=64,
        description="Experiment slug; default: the tenant's running experiment (422 if several run)",
    )


# Both routes: admin only, the bare seed body (no envelope), 404 for an unknown experiment.
admin_route = partial(
    api_route, params=MetricsParams, scope="admin", envelope=False, errors=(404,), tags=TAGS
)


async def _data(ctx: ApiContext, params: MetricsParams) -> ExperimentData:
    return await seed_report_data(
        ctx.services.db,
        ctx.tenant.id,
        experiment=params.experiment,
        start_date=params.start_date,
        end_date=params.end_date,
        variant=params.variant,
    )


@admin_route("/metrics/summary", response=MetricsSummary, summary="A/B test summary")
async def metrics_summary(ctx: ApiContext, params: MetricsParams) -> MetricsSummary:
    """Visitors, conversions and conversion rate per variant, and the most clicked CTAs with
    their CTR (clicks / visitors x 100). Rates have two decimals."""
    return summary(await _data(ctx, params))


@admin_route("/metrics/variants", response=MetricsVariants, summary="A/B test stats per variant")
async def metrics_variants(ctx: ApiContext, params: MetricsParams) -> MetricsVariants:
    """Views, clicks, conversions, conversion rate and a daily trend per variant, with scroll
    bands and, against control, the uplift (95 % interval), p-value and probability to beat
    control; plus a sample-ratio-mismatch check of the split against the weights."""
    return variants_report(await _data(ctx, params))

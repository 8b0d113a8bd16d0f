"""`GET /api/v1/metrics/summary` and `GET /api/v1/metrics/variants` (docs/ab-testing.md): an
experiment's numbers for an admin. The bodies are the documented ones, unwrapped (no
{"data": ...}); /variants adds the
statistics (uplift with its 95 % interval, P(better), sample-ratio check) and scroll bands after
the documented fields.

Auth is the framework's: any principal with the `admin` scope (an API token today; a dashboard
session principal once it carries that scope). Handlers only read `ctx.tenant`.
"""

from __future__ import annotations

from functools import partial

from pydantic import BaseModel, ConfigDict, Field

from analytics_mcp.engine.errors import QueryError
from analytics_mcp.experiments.report import ExperimentData
from analytics_mcp.experiments.service import metrics_report_data
from analytics_mcp.experiments.shapes import MetricsSummary, MetricsVariants, summary, variants_report
from analytics_mcp.http_api.errors import ApiError
from analytics_mcp.http_api.framework import ApiContext, RouteTable
from analytics_mcp.http_api.params import DATE, SLUG, date_range

TAGS = ("metrics",)
routes = RouteTable()


class MetricsParams(BaseModel):
    model_config = ConfigDict(json_schema_extra=date_range("start_date", "end_date", together=False))

    start_date: str | None = Field(
        None,
        max_length=10,
        json_schema_extra=DATE,
        description="Start date (YYYY-MM-DD, site's time zone), inclusive; default: 7 days before end_date",
    )
    end_date: str | None = Field(
        None,
        max_length=10,
        json_schema_extra=DATE,
        description="End date (YYYY-MM-DD), inclusive; default: today",
    )
    variant: str | None = Field(
        None, max_length=64, json_schema_extra=SLUG, description="Only this variant (slug; 404 if none)"
    )
    experiment: str | None = Field(
        None,
        max_length=64,
        json_schema_extra=SLUG,
        description="Experiment slug; default: the tenant's running experiment (422 if several run)",
    )


# Both routes: admin only, the bare documented body (no envelope), 404 for an unknown experiment.
admin_route = partial(
    routes.route, params=MetricsParams, scope="admin", envelope=False, errors=(404,), tags=TAGS
)


async def _data(ctx: ApiContext, params: MetricsParams) -> ExperimentData:
    try:
        return await metrics_report_data(
            ctx.services.db,
            ctx.services.events_db,
            ctx.tenant.id,
            experiment=params.experiment,
            start_date=params.start_date,
            end_date=params.end_date,
            variant=params.variant,
        )
    except QueryError as exc:
        if exc.field == "variant":  # a variant the experiment does not have: a missing resource
            raise ApiError(404, f"Variant not found: {exc.rule}.") from None
        raise


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

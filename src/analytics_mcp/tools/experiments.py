"""`ab-test-results`: an A/B experiment's per-variant numbers and statistics, the same numbers
`GET /api/v1/metrics/summary` and `/metrics/variants` answer (one `experiments.report` read)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from analytics_mcp.engine import Query, QueryError, ReportRange, parse_query
from analytics_mcp.experiments.model import Experiment
from analytics_mcp.experiments.report import experiment_data
from analytics_mcp.experiments.service import find_experiment
from analytics_mcp.experiments.shapes import (
    SRM_THRESHOLD,
    CtaRow,
    ExperimentRef,
    SampleRatio,
    VariantStats,
    summary,
    variants_report,
)
from analytics_mcp.experiments.store import list_experiments
from analytics_mcp.storage.account_types import AccountError
from analytics_mcp.tools.args import DomainArg, FromArg, PeriodArg, TenantArg, ToArg
from analytics_mcp.tools.common import ToolRequest, authorized_request, query_error, reply

ExperimentArg = Annotated[
    str | None,
    Field(max_length=63, description="Experiment slug; omit for the running experiment (of `domain`)."),
]

DEFINITIONS = {
    "visitors": (
        "A/B visitors: distinct visitor ids the experiment's snippet keeps in localStorage, with any "
        "A/B event in range; one per browser over the whole range (not per day)."
    ),
    "conversions": "Conversion events (payments); one per stripe_session_id.",
    "conversion_rate": "conversions / visitors x 100, two decimals; ctr = clicks / visitors x 100.",
    "uplift": (
        "Against control, on converted visitors / visitors: absolute_uplift in percentage points "
        "with its 95 % confidence interval (normal approximation, unpooled), relative_uplift = "
        "absolute / control rate x 100, p_value of the two-sided two-proportion z-test."
    ),
    "probability_to_beat_control": (
        "Bayesian probability (0-1) that the variant's true rate is above control's, with "
        "Beta(1 + converted, 1 + not converted) posteriors."
    ),
    "sample_ratio_mismatch": (
        "Chi-square goodness of fit of visitors per variant against the weights; mismatch when "
        f"p_value < {SRM_THRESHOLD}: the split is broken and the results are not trustworthy."
    ),
}


class AbTestAnswer(BaseModel):
    tenant: str
    definitions: dict[str, str]
    range: ReportRange
    experiment: ExperimentRef
    total_visitors: int
    total_conversions: int
    overall_conversion_rate: float
    variants: list[VariantStats]
    top_ctas: list[CtaRow] = Field(description="Most clicked elements (max 10), ctr in %")
    sample_ratio_mismatch: SampleRatio | None


async def _experiment_query(
    request: ToolRequest, experiment: str | None, period: str, dates: tuple[str | None, str | None]
) -> tuple[Experiment, Query]:
    """The experiment asked about, and the question over its own site (its time zone)."""
    query = request.query
    db = request.services.db
    try:
        found = await find_experiment(db, request.tenant.id, experiment, query.site_ids)
    except AccountError as exc:
        async with db.aio.connect() as conn:
            known = await conn.run_sync(
                lambda sync: list_experiments(sync, request.tenant.id, query.site_ids)
            )
        listed = ", ".join(f"{e.slug} ({e.status}, {e.site.domain})" for e in known) or "none yet"
        raise ToolError(f"{exc}; experiments: {listed}") from None
    if [s.domain for s in query.sites] != [found.site.domain]:
        try:
            query = parse_query(
                query.sites,
                request.tenant.timezone,
                period=period,
                date_from=dates[0],
                date_to=dates[1],
                interval=query.interval,
                site=found.site.domain,
            )
        except QueryError as exc:
            raise query_error(exc) from None
    return found, query


async def ab_test_results(
    ctx: Context[Any, Any],
    tenant: TenantArg = None,
    period: PeriodArg = "7d",
    domain: DomainArg = None,
    experiment: ExperimentArg = None,
    date_from: FromArg = None,
    date_to: ToArg = None,
) -> Annotated[CallToolResult, AbTestAnswer]:
    """Results of an A/B experiment: per variant its visitors, views, clicks, conversions,
    conversion rate (%) and daily trend, scroll-depth bands, and against control the absolute
    uplift (percentage points) with a 95 % confidence interval, the relative uplift (%), the
    p-value and the Bayesian probability to beat control; plus the top clicked CTAs with CTR and a
    sample-ratio-mismatch check of the traffic split against the weights (if it reports a
    mismatch, say the results are not trustworthy). Without `experiment`, the running one is used.

    Answers "which variant wins?", "is the difference significant?". Call list-sites first to
    discover domains. Dates are in the experiment's site time zone."""
    # The trend stays daily (hourly for 24h) whatever the length, as GET /metrics/variants gives it.
    daily = None if period == "24h" and date_from is None else "day"
    request = await authorized_request(ctx, tenant, period, domain, date_from, date_to, interval=daily)
    found, query = await _experiment_query(request, experiment, period, (date_from, date_to))
    data = await experiment_data(request.services.events_db, found, query)
    totals, report = summary(data), variants_report(data)
    answer = AbTestAnswer(
        tenant=request.tenant.slug,
        definitions=DEFINITIONS,
        range=ReportRange.of(query),
        experiment=report.experiment,
        total_visitors=totals.total_visitors,
        total_conversions=totals.total_conversions,
        overall_conversion_rate=totals.overall_conversion_rate,
        variants=report.stats,
        top_ctas=totals.top_ctas,
        sample_ratio_mismatch=report.sample_ratio_mismatch,
    )
    return reply("ab-test-results", answer, _notes(answer))


def _notes(answer: AbTestAnswer) -> list[str]:
    e = answer.experiment
    lines = [f"experiment {e.slug} ({e.name}) on {e.site}, {e.status}, control: {e.control}"]
    srm = answer.sample_ratio_mismatch
    if srm is None:
        lines.append("sample ratio: no visitors yet")
    else:
        verdict = "MISMATCH: results not trustworthy" if srm.mismatch else "ok"
        lines.append(f"sample ratio: chi_square {srm.chi_square}, p_value {srm.p_value} ({verdict})")
    return lines

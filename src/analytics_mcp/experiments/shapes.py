"""The answers built from `ExperimentData`: the A/B API's summary and variant stats (the fields
docs/ab-testing.md documents, in its order, extra fields after them), shared by the REST routes
and the MCP tool.

Rates and CTR are percentages with two decimals, half up, as the worked example of
docs/ab-testing.md shows (25 / 600 -> 4.17); the analytics API's one-decimal rule does not apply
to these endpoints. conversion_rate =
conversions / visitors x 100; ctr = clicks / visitors x 100 (visitors of the variants shown).
The uplift statistics count converted visitors (a visitor is one trial that converted or not).
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from analytics_mcp.engine.numbers import half_up
from analytics_mcp.experiments import stats
from analytics_mcp.experiments.identity import BAND_RANGES
from analytics_mcp.experiments.model import Experiment
from analytics_mcp.experiments.report import ExperimentData, VariantCounts

SRM_THRESHOLD = 0.01


def pct(part: float, whole: float) -> float:
    return half_up(part / whole * 100, 2) if whole else 0.0


class SummaryVariant(BaseModel):
    variant_slug: str
    visitors: int
    conversions: int
    conversion_rate: float = Field(description="conversions / visitors x 100, two decimals")


class CtaRow(BaseModel):
    element_id: str
    clicks: int
    ctr: float = Field(description="clicks / visitors x 100, two decimals")


class MetricsSummary(BaseModel):
    total_visitors: int
    total_conversions: int
    overall_conversion_rate: float
    variants: list[SummaryVariant]
    top_ctas: list[CtaRow]


class TrendPoint(BaseModel):
    date: str = Field(description="Local date YYYY-MM-DD (a local hour for a 24h period)")
    views: int
    conversions: int


class ScrollBandRow(BaseModel):
    band: int = Field(description="1: 0-25 %, 2: 25-50 %, 3: 50-75 %, 4: 75-100 %")
    range: str
    events: int = Field(description="scroll_depth events in this band")
    visitors: int = Field(description="Visitors whose deepest scroll is in this band")


class SeedVariantStats(BaseModel):
    variant_slug: str
    views: int
    clicks: int
    conversions: int
    conversion_rate: float
    trend: list[TrendPoint]


class VariantExtras(BaseModel):
    variant_id: int
    visitors: int
    converted_visitors: int
    is_control: bool
    scroll_bands: list[ScrollBandRow]


class Comparison(BaseModel):
    """Against control; null for control itself and when either side has no visitors."""

    absolute_uplift: float | None = Field(description="Rate difference in percentage points")
    absolute_uplift_ci_low: float | None = Field(description="95 % confidence interval, low end (pp)")
    absolute_uplift_ci_high: float | None
    relative_uplift: float | None = Field(description="Difference / control rate x 100 (%)")
    relative_uplift_ci_low: float | None = Field(description="The pp interval / control rate (%)")
    relative_uplift_ci_high: float | None
    p_value: float | None = Field(description="Two-sided two-proportion z-test")
    probability_to_beat_control: float | None = Field(description="Bayesian P(rate > control's), 0-1")
    significant: bool | None = Field(description="The 95 % interval excludes 0")


class VariantStats(Comparison, VariantExtras, SeedVariantStats):
    pass


class ExperimentRef(BaseModel):
    slug: str
    name: str
    status: str
    site: str
    control: str = Field(description="Slug of the variant the others are compared with")
    created_at: str


class RatioRow(BaseModel):
    variant_slug: str
    weight: int
    visitors: int
    expected_visitors: float


class SampleRatio(BaseModel):
    chi_square: float
    degrees_of_freedom: int
    p_value: float
    mismatch: bool = Field(description=f"p_value < {SRM_THRESHOLD}: the split does not match the weights")
    variants: list[RatioRow]


class MetricsVariants(BaseModel):
    start_date: date
    end_date: date
    stats: list[VariantStats]
    experiment: ExperimentRef
    sample_ratio_mismatch: SampleRatio | None = Field(description="null until there are visitors")


def experiment_ref(experiment: Experiment) -> ExperimentRef:
    e = experiment
    return ExperimentRef(
        slug=e.slug,
        name=e.name,
        status=e.status,
        site=e.site.domain,
        control=e.control.slug,
        created_at=e.created_at,
    )


def summary(data: ExperimentData) -> MetricsSummary:
    shown = [data.counts_of(v) for v in data.shown]
    conversions = sum(c.conversions for c in shown)
    visitors = data.total_visitors
    return MetricsSummary(
        total_visitors=visitors,
        total_conversions=conversions,
        overall_conversion_rate=pct(conversions, visitors),
        variants=[
            SummaryVariant(
                variant_slug=c.variant.slug,
                visitors=c.visitors,
                conversions=c.conversions,
                conversion_rate=pct(c.conversions, c.visitors),
            )
            for c in shown
        ],
        top_ctas=[CtaRow(element_id=e, clicks=n, ctr=pct(n, visitors)) for e, n in data.top_ctas],
    )


def comparison(control: VariantCounts, counts: VariantCounts) -> Comparison:
    if counts.variant.id == control.variant.id:
        return Comparison.model_validate(dict.fromkeys(Comparison.model_fields))
    diff = stats.difference(control.converters, control.visitors, counts.converters, counts.visitors)
    if diff is None:
        return Comparison.model_validate(dict.fromkeys(Comparison.model_fields))
    base = control.converters / control.visitors

    def relative(value: float) -> float | None:
        return half_up(value / base * 100, 2) if base else None

    return Comparison(
        absolute_uplift=half_up(diff.diff * 100, 2),
        absolute_uplift_ci_low=half_up(diff.low * 100, 2),
        absolute_uplift_ci_high=half_up(diff.high * 100, 2),
        relative_uplift=relative(diff.diff),
        relative_uplift_ci_low=relative(diff.low),
        relative_uplift_ci_high=relative(diff.high),
        p_value=half_up(diff.p_value, 4),
        probability_to_beat_control=half_up(
            stats.probability_b_beats_a(
                control.converters, control.visitors, counts.converters, counts.visitors
            ),
            4,
        ),
        significant=diff.low > 0 or diff.high < 0,
    )


def variant_stats(data: ExperimentData, counts: VariantCounts, control: VariantCounts) -> VariantStats:
    var_id = counts.variant.id
    trend = data.trend.get(var_id, {})
    bands = data.scroll.get(var_id, {})
    return VariantStats(
        variant_slug=counts.variant.slug,
        views=counts.views,
        clicks=counts.clicks,
        conversions=counts.conversions,
        conversion_rate=pct(counts.conversions, counts.visitors),
        trend=[
            TrendPoint(date=label, views=trend.get(i, (0, 0))[0], conversions=trend.get(i, (0, 0))[1])
            for i, label in enumerate(data.labels)
        ],
        variant_id=var_id,
        visitors=counts.visitors,
        converted_visitors=counts.converters,
        is_control=var_id == control.variant.id,
        scroll_bands=[
            ScrollBandRow(band=b, range=r, events=bands.get(b, [0, 0])[0], visitors=bands.get(b, [0, 0])[1])
            for b, r in BAND_RANGES.items()
        ],
        **dict(comparison(control, counts)),
    )


def sample_ratio(data: ExperimentData) -> SampleRatio | None:
    observed = [c.visitors for c in data.counts]
    fit = stats.sample_ratio_test(observed, [c.variant.weight for c in data.counts])
    if fit is None:
        return None
    return SampleRatio(
        chi_square=half_up(fit.statistic, 4),
        degrees_of_freedom=fit.dof,
        p_value=half_up(fit.p_value, 4),
        mismatch=fit.p_value < SRM_THRESHOLD,
        variants=[
            RatioRow(
                variant_slug=c.variant.slug,
                weight=c.variant.weight,
                visitors=c.visitors,
                expected_visitors=half_up(e, 2),
            )
            for c, e in zip(data.counts, fit.expected, strict=True)
        ],
    )


def variants_report(data: ExperimentData) -> MetricsVariants:
    control = data.counts_of(data.experiment.control)
    return MetricsVariants(
        start_date=data.query.range.date_from,
        end_date=data.query.range.date_to,
        stats=[variant_stats(data, data.counts_of(v), control) for v in data.shown],
        experiment=experiment_ref(data.experiment),
        sample_ratio_mismatch=sample_ratio(data),
    )

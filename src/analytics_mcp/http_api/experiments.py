"""`/api/v1/experiments`: create, list and start/stop a tenant's A/B experiments. Creating and
changing need the `admin` scope; listing only `read` (it is configuration, like goals)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import Connection

from analytics_mcp.experiments.model import Experiment
from analytics_mcp.experiments.store import create_experiment, list_experiments, set_status
from analytics_mcp.http_api.errors import ApiError
from analytics_mcp.http_api.framework import ApiContext, RouteTable
from analytics_mcp.http_api.params import NON_BLANK_PATTERN, SLUG
from analytics_mcp.storage.account_types import AccountError
from analytics_mcp.storage.accounts import get_site

TAGS = ("experiments",)
routes = RouteTable()
Status = Literal["running", "stopped"]


class VariantIn(BaseModel):
    slug: str = Field(max_length=63, json_schema_extra=SLUG, description="e.g. control, variant-a")
    weight: int = Field(1, ge=1, le=10_000, description="Relative share of new visitors")


class ExperimentIn(BaseModel):
    site: str = Field(max_length=253, description="One of your sites' domains")
    slug: str = Field(max_length=63, json_schema_extra=SLUG, description="Unique in your tenant: hero-test")
    name: str | None = Field(None, max_length=200, json_schema_extra={"pattern": NON_BLANK_PATTERN})
    status: Status = "running"
    variants: list[VariantIn] = Field(
        min_length=2,
        max_length=20,
        description="In order, each slug once; the one named control (else the first) is control",
    )


class VariantOut(BaseModel):
    id: int = Field(description="The variant_id the tracking snippet sends")
    slug: str
    weight: int


class ExperimentOut(BaseModel):
    id: int
    site: str
    slug: str
    name: str
    status: Status
    created_at: str
    control: str
    variants: list[VariantOut]


class ExperimentsParams(BaseModel):
    site: str | None = Field(None, max_length=253, description="One of your sites' domains (default: all)")


class StatusIn(BaseModel):
    """The body of PATCH /experiments/{slug}; the experiment is the path's."""

    status: Status
    experiment: str | None = Field(
        None, max_length=63, description="Optional: the path's experiment slug again (another one is a 422)"
    )


def _out(experiment: Experiment) -> ExperimentOut:
    return ExperimentOut.model_validate(experiment.as_json())


@routes.route(
    "/experiments",
    method="POST",
    params=ExperimentIn,
    response=ExperimentOut,
    scope="admin",
    status_code=201,
    errors=(404, 409),
    tags=TAGS,
    summary="Create an A/B experiment",
)
async def experiments_create(ctx: ApiContext, params: ExperimentIn) -> ExperimentOut:
    """A new experiment of one of your sites; its variants get the ids tracking calls send."""
    pairs = [(v.slug, v.weight) for v in params.variants]
    created = await ctx.db(
        lambda conn: create_experiment(
            conn,
            params.site,
            params.slug,
            pairs,
            name=params.name,
            status=params.status,
            tenant_id=ctx.tenant.id,
        )
    )
    return _out(created)


@routes.route(
    "/experiments",
    params=ExperimentsParams,
    response=list[ExperimentOut],
    errors=(404,),
    tags=TAGS,
    summary="List A/B experiments",
)
async def experiments_list(ctx: ApiContext, params: ExperimentsParams) -> list[ExperimentOut]:
    """Your experiments (of one site, or all), oldest first, with their variants and ids."""

    def load(conn: Connection) -> list[Experiment]:
        site_ids = None
        if params.site is not None:
            site = get_site(conn, params.site)
            if site is None or site.tenant_id != ctx.tenant.id:
                raise AccountError("site", "not found")  # another tenant's site looks like none
            site_ids = [site.id]
        return list_experiments(conn, ctx.tenant.id, site_ids)

    return [_out(e) for e in await ctx.db(load)]


@routes.route(
    "/experiments/{slug}",
    method="PATCH",
    params=StatusIn,
    response=ExperimentOut,
    scope="admin",
    tags=TAGS,
    summary="Start or stop an A/B experiment",
)
async def experiments_update(ctx: ApiContext, params: StatusIn) -> ExperimentOut:
    """Set `status` to running or stopped. A stopped experiment's variants are refused by the
    tracking call (409), so its numbers stay as they were when it stopped."""
    slug = ctx.request.path_params["slug"]
    if params.experiment is not None and params.experiment != slug:
        raise ApiError.invalid("experiment", f"must be the experiment in the path ({slug!r}) or left out")
    changed = await ctx.db(lambda conn: set_status(conn, ctx.tenant.id, slug, params.status))
    return _out(changed)

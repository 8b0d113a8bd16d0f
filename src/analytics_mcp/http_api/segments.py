"""`/api/v1/segments`: create, list, change, archive and compute segments (token scope `admin`;
docs/platform.md). A segment of another tenant answers exactly like one that does not exist: 404."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from analytics_mcp.http_api.errors import ApiError
from analytics_mcp.http_api.framework import ApiContext, RouteTable
from analytics_mcp.platform.compute import compute_segments
from analytics_mcp.platform.schedule import tenant_today
from analytics_mcp.platform.segment_rules import SegmentDefinition
from analytics_mcp.platform.segments import (
    Segment,
    archive_segment,
    change_segment,
    create_segment,
    get_segment,
    list_segments,
)

TAGS = ("segments",)
routes = RouteTable()


class SegmentOut(BaseModel):
    id: int
    name: str
    match: str = Field(description="all: every rule; any: at least one")
    rules: list[dict[str, Any]]
    status: str = Field(description="active or archived")
    member_count: int = Field(description="Members in the latest computed day")
    last_computed_at: str | None = Field(description="When the latest computed day was computed (ISO UTC)")
    created_at: str
    updated_at: str


def segment_out(segment: Segment) -> SegmentOut:
    return SegmentOut(
        **segment.definition(),
        id=segment.id,
        status=segment.status,
        member_count=segment.member_count,
        last_computed_at=segment.last_computed_at,
        created_at=segment.created_at,
        updated_at=segment.updated_at,
    )


class SegmentsParams(BaseModel):
    status: Literal["active", "archived", "all"] = Field("active", description="Which segments")


class SegmentPath(BaseModel):
    segment: str = Field(max_length=20, description="Segment id")


class SegmentChange(SegmentDefinition):
    segment: str = Field(max_length=20, description="Segment id")


class ComputeIn(SegmentPath):
    model_config = ConfigDict(extra="forbid")
    # Optional but never null on the wire: the document says a date, and an explicit null is a 422.
    day: date | SkipJsonSchema[None] = Field(
        None, description="Local day to compute (default: today in the tenant's zone)"
    )

    @field_validator("day", mode="before")
    @classmethod
    def _day_left_out_not_null(cls, value: object) -> object:
        # The default is never validated, so only an explicit null lands here: say how to get it.
        if value is None:
            raise ValueError("must be a date (YYYY-MM-DD); leave it out for today")
        return value


class ComputeOut(BaseModel):
    segment: SegmentOut
    day: date
    member_count: int


def _segment_id(ctx: ApiContext) -> int:
    raw = ctx.request.path_params["segment"]
    if not raw.isdigit() or len(raw) > 9:  # not an id: exactly like an id that does not exist
        raise ApiError(404, "Segment not found.")
    return int(raw)


async def _own(ctx: ApiContext) -> Segment:
    segment_id = _segment_id(ctx)
    found = await ctx.db(lambda conn: get_segment(conn, ctx.tenant.id, segment_id))
    if found is None:
        raise ApiError(404, "Segment not found.")
    return found


@routes.route("/segments", params=SegmentsParams, response=list[SegmentOut], scope="admin", tags=TAGS,
              summary="List segments")  # fmt: skip
async def segments_list(ctx: ApiContext, params: SegmentsParams) -> list[SegmentOut]:
    """Your segments by id, with their rules and latest member count."""
    status = None if params.status == "all" else params.status
    found = await ctx.db(lambda conn: list_segments(conn, ctx.tenant.id, status=status))
    return [segment_out(s) for s in found]


@routes.route("/segments", method="POST", params=SegmentDefinition, response=SegmentOut, scope="admin",
              status_code=201, errors=(403, 422), tags=TAGS, summary="Create a segment")  # fmt: skip
async def segments_create(ctx: ApiContext, params: SegmentDefinition) -> SegmentOut:
    """A new active segment; it has members once computed (daily, or `POST .../compute`)."""
    return segment_out(await ctx.db(lambda conn: create_segment(conn, ctx.tenant.id, params)))


@routes.route("/segments/{segment}", response=SegmentOut, scope="admin", errors=(404,), tags=TAGS,
              summary="One segment")  # fmt: skip
async def segments_get(ctx: ApiContext) -> SegmentOut:
    """A segment by id."""
    return segment_out(await _own(ctx))


@routes.route("/segments/{segment}", method="PUT", params=SegmentChange, response=SegmentOut,
              scope="admin", errors=(404, 422), tags=TAGS, summary="Change a segment")  # fmt: skip
async def segments_change(ctx: ApiContext, params: SegmentChange) -> SegmentOut:
    """New name, match and rules; the members change at the next computation."""
    segment = await _own(ctx)
    if segment.status != "active":
        raise ApiError.invalid("status", "an archived segment cannot be changed")
    return segment_out(await ctx.db(lambda conn: change_segment(conn, segment, params)))


@routes.route("/segments/{segment}", method="DELETE", response=SegmentOut, scope="admin", errors=(404,),
              tags=TAGS, summary="Archive a segment")  # fmt: skip
async def segments_archive(ctx: ApiContext) -> SegmentOut:
    """Archive: the segment leaves the reports and is no longer computed; its snapshots stay."""
    segment = await _own(ctx)
    return segment_out(await ctx.db(lambda conn: archive_segment(conn, segment)))


@routes.route("/segments/{segment}/compute", method="POST", params=ComputeIn, response=ComputeOut,
              scope="admin", errors=(404, 422), tags=TAGS, summary="Compute a segment now")  # fmt: skip
async def segments_compute(ctx: ApiContext, params: ComputeIn) -> ComputeOut:
    """Compute the segment's members for a local day (default today) now; replaces that day."""
    segment = await _own(ctx)
    if segment.status != "active":
        raise ApiError.invalid("status", "an archived segment is not computed")
    day = params.day or tenant_today(ctx.tenant.timezone)
    done = await compute_segments(ctx.services, ctx.tenant.id, day, [segment.id])
    updated = await _own(ctx)
    return ComputeOut(segment=segment_out(updated), day=day, member_count=done[0].member_count)

"""Schemathesis over the real /api/v1/openapi.json, against a real server: every operation with
generated requests (examples, coverage and fuzzing phases; deterministic for a given seed), every
response checked against the document. Shared by tests/test_contract_fuzz.py (a small, fast run)
and the standing reliability suite (a larger one):

    async with fuzz_server(settings) as (base_url, token):
        report = await asyncio.to_thread(fuzz_api, base_url, token, max_examples=200)
    assert report.clean, report.summary()

`fuzz_world` seeds what the operations read (a site with traffic, a goal, a running experiment);
`fuzz_server` serves it on 127.0.0.1 with a read+ingest+admin token and a fake model API, so the
chat streams real answers. The rules the document states between values, outside JSON Schema (a
date range's order and length, `x-date-range`; each variant slug once; the PATCH body naming its
path's experiment), are applied to generated valid requests, as a client following it would.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, from_schema
from schemathesis.engine import events as engine_events
from schemathesis.engine.recorder import ScenarioRecorder
from schemathesis.hooks import HookContext

from analytics_mcp.config import Settings
from analytics_mcp.engine.breakdown_spec import LEVEL_METRICS, level_of
from analytics_mcp.experiments.store import create_experiment
from analytics_mcp.http_api.params import COMPARE_RULE, DATE_RANGE, INTERVAL_X
from analytics_mcp.ingest.bulk_import import ingest_events
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from conftest import serving
from factories import SAFARI_IPHONE, event, make_site, make_token
from fake_anthropic import Turn, fake_anthropic

# Checks whose failures mean the server broke the contract; `positive_data_acceptance` (a
# request the document allows was refused) is reported too, and asserted by the fast test.
SERVER_ERROR = "not_a_server_error"
SCHEMA_VIOLATION = "response_schema_conformance"
UNDOCUMENTED_STATUS = "status_code_conformance"
REFUSED_VALID = "positive_data_acceptance"
PHASES = ("examples", "coverage", "fuzzing")


@dataclass(frozen=True)
class Finding:
    operation: str
    check: str
    phase: str
    status: int | None
    request: str
    response: str


@dataclass
class FuzzReport:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    seconds: Counter[str] = field(default_factory=Counter)  # per operation

    def __iadd__(self, other: FuzzReport) -> FuzzReport:
        self.requests += other.requests
        self.statuses += other.statuses
        self.findings += other.findings
        self.seconds += other.seconds
        return self

    def of(self, check: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.check == check]

    @property
    def server_errors(self) -> int:
        """Responses with a 5xx status (every one, not only the distinct failures)."""
        return sum(count for status, count in self.statuses.items() if status >= 500)

    @property
    def clean(self) -> bool:
        return not self.server_errors and not self.findings

    def summary(self, most: int = 10) -> str:
        counts = Counter(f.check for f in self.findings)
        lines = [f"{self.requests} requests, statuses {dict(sorted(self.statuses.items()))}, {dict(counts)}"]
        lines += [
            f"{f.check} ({f.phase}): {f.operation} -> {f.status}: {f.request[:300]} => {f.response[:300]}"
            for f in self.findings[:most]
        ]
        return "\n".join(lines)


def fuzz_world(services: Services) -> str:
    """A tenant with a site, a goal, a running experiment and an hour of traffic (pageviews, a
    goal completion, a purchase), so reports have rows to shape; its token with the read, ingest
    and admin scopes."""
    make_site(services, "acme", "acme.test", plan="business")
    with services.db.sync.begin() as conn:
        accounts.add_goal(conn, "acme.test", "Signup", path="/signup")
        create_experiment(conn, "acme.test", "hero-test", [("control", 50), ("variant-a", 50)])
    start = datetime.now(UTC) - timedelta(hours=1)  # data only: no assertion reads the clock
    times = [(start + timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%SZ") for m in range(4)]
    purchase = {"transaction_id": "t-1", "revenue": {"amount": 49, "currency": "EUR"}}
    purchase["items"] = [{"item_id": "mug", "item_name": "Mug", "price": 49, "quantity": 1}]
    summary = ingest_events(
        services.ingestor,
        [
            event(times[0], "/?utm_source=news&utm_campaign=spring", referrer="https://t.co/x"),
            event(times[1], "/signup", ip="198.51.100.11", ua=SAFARI_IPHONE),
            event(times[2], "/shop", name="purchase", ip="198.51.100.11", ua=SAFARI_IPHONE, **purchase),
            event(times[3], "/", ip="198.51.100.12"),
        ],
    )
    assert summary.accepted == 4, summary
    return make_token(services, "acme", scopes=("read", "ingest", "admin"))


@asynccontextmanager
async def fuzz_server(settings: Settings) -> AsyncIterator[tuple[str, str]]:
    """A real uvicorn over a seeded world, no rate limit in the way, the chat on a fake model
    API: (base_url, token)."""
    async with fake_anthropic([Turn(text="All quiet.")], repeat=True) as fake:
        settings = settings.model_copy(
            update={
                "rate_limit": "1000000/minute",
                "anthropic_api_key": "test-key",
                "anthropic_base_url": fake.base_url,
            }
        )
        services = Services.build(settings)
        token = fuzz_world(services)
        services.db.sync.dispose()
        await services.db.aio.dispose()
        async with serving(settings) as (base_url, _app):
            yield base_url, token


def fuzz_api(
    base_url: str,
    token: str,
    *,
    max_examples: int,
    seed: int = 1,
    phases: tuple[str, ...] = PHASES,
    modes: tuple[str, ...] = ("positive", "negative"),
) -> FuzzReport:
    """Run schemathesis (blocking: call it in a thread while the server runs on the loop);
    `max_examples` per operation in the fuzzing phase (coverage and examples are fixed sets)."""
    config = SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "base-url": f"{base_url}/api/v1",
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
                "mode": "all" if len(modes) > 1 else modes[0],
            },
            "phases": {name: {"enabled": name in phases} for name in (*PHASES, "stateful")},
            "warnings": False,
        }
    )
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=config)
    schema.hook("map_case")(_follow_the_document)
    report = FuzzReport()
    for happened in from_schema(schema).execute():
        if isinstance(happened, engine_events.ScenarioFinished):
            _record(report, happened.recorder)
            report.seconds[happened.recorder.label] += happened.elapsed_time
        elif isinstance(happened, engine_events.FatalError | engine_events.NonFatalError):
            raise AssertionError(f"schemathesis could not run: {happened}")
    return report


def _record(report: FuzzReport, recorder: ScenarioRecorder) -> None:
    for interaction in recorder.interactions.values():
        report.requests += 1
        if interaction.response is not None:
            report.statuses[interaction.response.status_code] += 1
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status != Status.FAILURE:
                continue
            interaction = recorder.interactions.get(case_id)
            case = recorder.cases[case_id].value if case_id in recorder.cases else None
            meta = case.meta if case is not None else None
            response = interaction.response if interaction else None
            request = interaction.request if interaction else None
            body = request.body.decode("utf-8", "replace") if request and request.body else ""
            report.findings.append(
                Finding(
                    operation=recorder.label,
                    check=check.name,
                    phase=f"{meta.phase.name.value}/{meta.generation.mode.value}" if meta else "",
                    status=response.status_code if response else None,
                    request=f"{request.method} {request.uri} {body}" if request else "",
                    response=response.content.decode("utf-8", "replace") if response else "",
                )
            )


def _follow_the_document(context: HookContext, case: Case) -> Case:
    """A request the document allows, made to follow the rules it states between values, which
    JSON Schema cannot: a date range in order and within its length (`x-date-range`), each
    variant slug once, the PATCH body's `experiment` (if any) the path's. Experiments it creates
    are created stopped, so the world's one running experiment stays the reports' default.
    Requests meant to be invalid are left as they are."""
    if context.operation is None or case.meta is None:
        return case
    if case.meta.generation.mode != GenerationMode.POSITIVE:
        return case
    rule = context.operation.definition.raw.get(DATE_RANGE)
    if rule and isinstance(case.query, dict):
        case.query = _in_range(case.query, rule)
    compare = context.operation.definition.raw.get(COMPARE_RULE)
    if compare and isinstance(case.query, dict):
        case.query = _compare_rules(case.query, compare)
    if "x-breakdown" in context.operation.definition.raw and isinstance(case.query, dict):
        case.query = _breakdown_rules(case.query)
    interval = context.operation.definition.raw.get(INTERVAL_X)
    if interval and isinstance(case.query, dict):
        case.query = _interval_rules(case.query, interval)
    body = case.body if isinstance(case.body, dict) else None
    if body and isinstance(body.get("variants"), list):
        _one_slug_each(body["variants"])
        # The world's one running experiment stays the only one: the reports' default needs one.
        body["status"] = "stopped"
    if body and isinstance(body.get("rules"), list):
        _segment_rules(body)
    if body and "experiment" in body and "slug" in (case.path_parameters or {}):
        body["experiment"] = unquote(str(case.path_parameters["slug"]))  # as the server reads it
    return case


SEGMENT_NAMES = itertools.count(1)


def _segment_rules(body: dict[str, Any]) -> None:
    """A segment's rules between values (docs/platform.md): an active name once per tenant, a
    number for gt/lt, text for contains, no value for set/not_set, a value otherwise; first-seen
    dates in the accepted years."""
    if "name" in body:
        body["name"] = f"{str(body['name'])[:80]}-{next(SEGMENT_NAMES)}"
    for rule in (r for r in body["rules"] if isinstance(r, dict) and r.get("type") == "trait"):
        if rule.get("op") in ("gt", "lt"):
            rule["value"] = 1
        elif rule.get("op") in ("set", "not_set"):
            rule.pop("value", None)
        elif rule.get("op") == "contains":
            rule["value"] = str(rule.get("value") or "x")
        elif rule.get("value") is None:
            rule["value"] = "x"
    for rule in (r for r in body["rules"] if isinstance(r, dict) and r.get("type") == "first_seen"):
        rule["date"] = "2026-01-01"  # within the accepted years


def _breakdown_rules(query: dict[str, Any]) -> dict[str, Any]:
    """`x-breakdown`: only the metrics the dimensions' rows have, the sort among them; without a
    goal id to hand, no conversions (and so no goal)."""
    allowed = LEVEL_METRICS[level_of(str(query.get("dimensions", "")).split(","))]
    asked = str(query.get("metrics") or "visitors").split(",")
    metrics = [m for m in asked if m in allowed and m != "conversions"] or ["visitors"]
    query["metrics"] = ",".join(metrics)
    if query.get("sort") is not None and str(query["sort"]).lstrip("-") not in metrics:
        query["sort"] = f"-{metrics[0]}"
    query.pop("goal", None)
    return query


def _interval_rules(query: dict[str, Any], rule: dict[str, Any]) -> dict[str, Any]:
    """`x-interval`: 24h has hours only; hours need 24h or from/to of at most `hourMaxDays` days."""
    start, end = _as_date(query.get("from")), _as_date(query.get("to"))
    hours_fit = (
        query.get("period", "7d") == "24h"
        if start is None or end is None
        else ((end - start).days < rule["hourMaxDays"])
    )
    if start is None and query.get("period") == "24h" and query.get("interval") is not None:
        return {**query, "interval": "hour"}
    if query.get("interval") == "hour" and not hours_fit:
        return {key: value for key, value in query.items() if key != "interval"}
    return query


def _compare_rules(query: dict[str, Any], rule: dict[str, Any]) -> dict[str, Any]:
    """`x-compare`: the comparison dates as a date range; with them `compare` is custom, without
    them it is anything but custom."""
    query = _in_range(query, rule)
    if query.get(rule["from"]) is not None:
        return {**query, rule["compare"]: "custom"}
    if query.get(rule["compare"]) == "custom":
        return {key: value for key, value in query.items() if key != rule["compare"]}
    return query


def _in_range(query: dict[str, Any], rule: dict[str, Any]) -> dict[str, Any]:
    """Dates in order and cut to `maxDays`; a start without an end gets one (the end may default
    to today, which the document cannot know)."""
    start, end = _as_date(query.get(rule["from"])), _as_date(query.get(rule["to"]))
    if start is None:
        return query
    end = end or start
    start, end = min(start, end), max(start, end)
    end = min(end, start + timedelta(days=rule["maxDays"] - 1))
    return {**query, rule["from"]: start.isoformat(), rule["to"]: end.isoformat()}


def _one_slug_each(variants: list[Any]) -> None:
    seen: set[str] = set()
    for index, variant in enumerate(variants):
        if isinstance(variant, dict) and isinstance(variant.get("slug"), str):
            if variant["slug"] in seen:
                variant["slug"] = f"{variant['slug'][:58]}-{index}"
            seen.add(variant["slug"])


def _as_date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None

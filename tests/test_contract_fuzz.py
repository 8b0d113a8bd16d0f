"""Schemathesis against the real server and its own OpenAPI document (see `contract_fuzz`): a
bounded, deterministic run (a fixed seed and example count, about half a minute) that must find no
5xx, no response outside its documented schema or status, and no request the document allows
refused. The standing reliability suite runs the same with every phase and more examples."""

from __future__ import annotations

import asyncio

from analytics_mcp.config import Settings

MAX_EXAMPLES = 10  # per operation, in the fuzzing phase


async def test_the_api_keeps_its_documented_contract(settings: Settings) -> None:
    # Imported here: schemathesis and hypothesis (~0.7 s) load only in the worker that runs this.
    from contract_fuzz import (
        REFUSED_VALID,
        SCHEMA_VIOLATION,
        SERVER_ERROR,
        UNDOCUMENTED_STATUS,
        FuzzReport,
        fuzz_api,
        fuzz_server,
    )

    async with fuzz_server(settings) as (base_url, token):
        # Every boundary value the document allows, then generated requests valid and invalid.
        report = FuzzReport()
        report += await asyncio.to_thread(
            fuzz_api, base_url, token, max_examples=MAX_EXAMPLES, phases=("coverage",), modes=("positive",)
        )
        report += await asyncio.to_thread(
            fuzz_api, base_url, token, max_examples=MAX_EXAMPLES, phases=("examples", "fuzzing")
        )
    assert report.requests > 500, report.summary()
    assert report.server_errors == 0, report.summary()
    for check in (SERVER_ERROR, SCHEMA_VIOLATION, UNDOCUMENTED_STATUS, REFUSED_VALID):
        assert report.of(check) == [], report.summary()
    assert report.clean, report.summary()

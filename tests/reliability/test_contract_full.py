"""Schemathesis at the standing suite's size: every phase (examples, coverage, fuzzing), valid
and invalid requests, against a real server and its own OpenAPI document: two seeds with 100
examples an operation. 0 5xx, 0 responses outside the document, 0 valid requests refused. Only
at full scale: `make test` runs the bounded twin, tests/test_contract_fuzz.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from analytics_mcp.config import Settings
from reliability.scale import current

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(current() != "full", reason="full scale only (make check-reliability)"),
]
ARTIFACTS = Path(__file__).parent.parent / "artifacts"


async def test_every_phase_of_the_contract_fuzz_finds_nothing(settings: Settings) -> None:
    from contract_fuzz import FuzzReport, fuzz_api, fuzz_server  # as in test_contract_fuzz

    report = FuzzReport()
    seeds = (1, 7)
    async with fuzz_server(settings) as (base_url, token):
        for seed in seeds:
            report += await asyncio.to_thread(fuzz_api, base_url, token, max_examples=100, seed=seed)
    figures = {
        "requests": report.requests,
        "server_errors": report.server_errors,
        "findings": len(report.findings),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "reliability-contract-fuzz.json").write_text(json.dumps(figures, indent=2))
    print(f"\ncontract fuzz: {figures}")
    assert report.clean, report.summary()

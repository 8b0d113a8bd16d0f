"""`analytics-mcp experiments ...` in-process, and the demo's experiment hook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from analytics_mcp.cli import main
from analytics_mcp.demo.experiment import DEMO_SLUG, add_demo_experiment
from analytics_mcp.services import Services
from analytics_mcp.storage.schema import events, experiment_events
from factories import make_site


@pytest.fixture(autouse=True)
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ANALYTICS_DB_URL", url)
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> list[Any]:
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, ""), err
    return [json.loads(line) for line in out.splitlines()]


def test_add_list_stop_start(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "tenants", "create", "acme")
    ok(capsys, "sites", "add", "--tenant", "acme", "acme.test")
    add = ("experiments", "add", "--site", "acme.test", "--slug", "hero-test", "--name", "Hero copy")
    [created] = ok(capsys, *add, "--variant", "control:50", "--variant", "variant-a:50")
    assert {k: created[k] for k in ("site", "slug", "name", "status", "control")} == {
        "site": "acme.test",
        "slug": "hero-test",
        "name": "Hero copy",
        "status": "running",
        "control": "control",
    }
    assert created["variants"] == [
        {"id": 1, "slug": "control", "weight": 50},
        {"id": 2, "slug": "variant-a", "weight": 50},
    ]
    assert ok(capsys, "experiments", "list", "--site", "acme.test") == [created]
    [stopped] = ok(capsys, "experiments", "stop", "--site", "acme.test", "--slug", "hero-test")
    assert stopped["status"] == "stopped"
    [running] = ok(capsys, "experiments", "start", "--site", "acme.test", "--slug", "hero-test")
    assert running["status"] == "running"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("--site", "acme.test", "--slug", "x1", "--variant", "control:50"),
            "variants: must list 2-20 variants",
        ),
        (("--site", "acme.test", "--slug", "x1", "--variant", "a1:1", "--variant", "a1:2"), "listed twice"),
        (("--site", "acme.test", "--slug", "x1", "--variant", "a1:0", "--variant", "b1"), "weight of 'a1'"),
        (
            ("--site", "acme.test", "--slug", "x1", "--variant", "a1:x", "--variant", "b1"),
            "weight must be a whole",
        ),
        (("--site", "nowhere.test", "--slug", "x1", "--variant", "a1", "--variant", "b1"), "site: not found"),
        (("--site", "acme.test", "--slug", "X!", "--variant", "a1", "--variant", "b1"), "slug: must be"),
    ],
)
def test_add_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    ok(capsys, "tenants", "create", "acme")
    ok(capsys, "sites", "add", "--tenant", "acme", "acme.test")
    code, out, err = run(capsys, "experiments", "add", *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err, err


def test_stop_unknown_experiment(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "tenants", "create", "acme")
    ok(capsys, "sites", "add", "--tenant", "acme", "acme.test")
    code, _out, err = run(capsys, "experiments", "stop", "--site", "acme.test", "--slug", "nope")
    assert code == 2 and err == "error: experiment: not found\n"


def test_demo_experiment_hook(services: Services) -> None:
    make_site(services)
    experiment = add_demo_experiment(services, "acme.test", days=2, daily_visitors=40)
    assert (experiment.slug, experiment.status) == (DEMO_SLUG, "running")
    with services.db.sync.connect() as conn:
        side = conn.execute(select(func.count()).select_from(experiment_events)).scalar_one()
        views = conn.execute(select(func.count()).where(events.c.name == "pageview")).scalar_one()
        visitors = conn.execute(
            select(func.count(func.distinct(experiment_events.c.visitor_key)))
        ).scalar_one()
    assert views == visitors == 80 and side > views  # one view per visitor, plus their other events
    again = add_demo_experiment(services, "acme.test", days=2, daily_visitors=40)
    assert again.id == experiment.id  # kept, no second load
    with services.db.sync.connect() as conn:
        assert conn.execute(select(func.count()).select_from(experiment_events)).scalar_one() == side

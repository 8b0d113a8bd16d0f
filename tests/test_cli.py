"""The `analytics-mcp` CLI: in-process through main(argv), plus real subprocesses."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

import analytics_mcp
from analytics_mcp.cli import main
from analytics_mcp.cli_commands import accounts as account_commands
from analytics_mcp.config import Settings
from analytics_mcp.storage import accounts
from analytics_mcp.storage.db import open_database
from factories import CHROME_WIN
from pg_server import PostgresServer

TOKEN_LINE = re.compile(r"^amcp_[A-Za-z0-9_-]+\n$")
BIN_DIR = Path(sys.executable).parent


pytestmark = pytest.mark.backends()


# A test whose first command finds no database yet (it creates and migrates the SQLite file).
# The others start from a copy of the worker's migrated template, as PostgreSQL's do (its `fresh`
# database is a TEMPLATE copy): migrating a new file cost ~0.14 s of CPU a test.
FIRST_RUN = pytest.mark.first_run


@pytest.fixture
def db_url(
    db_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The CLI's database, named in the environment as an operator would: a SQLite file, or a
    fresh PostgreSQL database."""
    if db_backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.fresh_database()
    else:
        path = tmp_path / "cli.db"
        if request.node.get_closest_marker("first_run") is None:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    monkeypatch.setenv("ANALYTICS_DB_URL", url)
    monkeypatch.delenv("ANALYTICS_PASSWORD", raising=False)
    yield url
    if db_backend == "postgresql":
        server.drop(url)


Run = tuple[int, str, str]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ok_json(result: Run) -> Any:
    code, out, err = result
    assert (code, err) == (0, ""), err
    return json.loads(out)


def json_lines(result: Run) -> list[Any]:
    code, out, err = result
    assert (code, err) == (0, ""), err
    return [json.loads(line) for line in out.splitlines()]


def assert_error(result: Run, text: str, code: int = 2) -> None:
    got_code, out, err = result
    assert got_code == code and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and text in err, err


@pytest.fixture
def acme(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    ok_json(run(capsys, "tenants", "create", "acme", "--plan", "pro", "--timezone", "Europe/Berlin"))
    ok_json(run(capsys, "sites", "add", "https://www.Acme.test/shop", "--tenant", "acme"))


def test_tenants_and_sites(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    tenant = ok_json(run(capsys, "tenants", "create", "acme", "--name", "Acme Inc", "--plan", "pro"))
    assert tenant == {"id": 1, "slug": "acme", "name": "Acme Inc", "plan": "pro", "timezone": "UTC"}
    ok_json(run(capsys, "tenants", "create", "beta"))
    assert [t["slug"] for t in json_lines(run(capsys, "tenants", "list"))] == ["acme", "beta"]
    site = ok_json(run(capsys, "sites", "add", "WWW.Acme.test", "--tenant", "acme", "--currency", "USD"))
    assert site == {"id": 1, "tenant": "acme", "domain": "acme.test", "timezone": "UTC", "currency": "USD"}
    ok_json(run(capsys, "sites", "add", "beta.test", "--tenant", "beta", "--timezone", "Asia/Tokyo"))
    assert len(json_lines(run(capsys, "sites", "list"))) == 2
    only = json_lines(run(capsys, "sites", "list", "--tenant", "beta"))
    assert [(s["domain"], s["timezone"]) for s in only] == [("beta.test", "Asia/Tokyo")]


def test_tokens_create_list_revoke(acme: None, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "tokens", "create", "--tenant", "acme", "--name", "ci", "--scopes", "read,ingest"
    )
    assert (code, err) == (0, "") and TOKEN_LINE.match(out)
    plaintext = out.strip()
    listed = json_lines(run(capsys, "tokens", "list", "--tenant", "acme"))
    assert len(listed) == 1 and listed[0]["scopes"] == ["ingest", "read"]
    assert listed[0]["prefix"] == plaintext[:12] and listed[0]["revoked_at"] is None
    assert "hash" not in json.dumps(listed) and plaintext not in json.dumps(listed)
    revoked = ok_json(run(capsys, "tokens", "revoke", listed[0]["id"]))
    assert revoked["revoked_at"] is not None
    db = open_database(db_url)
    with db.sync.begin() as conn:
        assert accounts.verify_token(conn, plaintext) is None
    db.sync.dispose()
    assert_error(run(capsys, "tokens", "revoke", "01HZZZZZZZZZZZZZZZZZZZZZZZ"), "token: not found")


def test_users_create_with_env_password(
    acme: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_PASSWORD", "correct horse")
    user = ok_json(run(capsys, "users", "create", "Ann@Acme.test", "--tenant", "acme", "--role", "admin"))
    assert (user["email"], user["role"], user["tenant"]) == ("ann@acme.test", "admin", "acme")
    assert "password" not in json.dumps(user)
    assert_error(run(capsys, "users", "create", "ann@acme.test", "--tenant", "acme"), "email: already exists")
    monkeypatch.setenv("ANALYTICS_PASSWORD", "short")
    assert_error(run(capsys, "users", "create", "bob@acme.test", "--tenant", "acme"), "password: ")


def test_users_password_needs_env_or_tty(
    acme: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(isatty=lambda: False))
    assert_error(run(capsys, "users", "create", "a@acme.test", "--tenant", "acme"), "ANALYTICS_PASSWORD")


def test_users_password_prompt(
    acme: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(isatty=lambda: True))
    answers = iter(["first-password", "other-password", "same-password", "same-password"])
    monkeypatch.setattr(account_commands.getpass, "getpass", lambda _prompt: next(answers))
    assert_error(run(capsys, "users", "create", "a@acme.test", "--tenant", "acme"), "do not match")
    assert ok_json(run(capsys, "users", "create", "a@acme.test", "--tenant", "acme"))["role"] == "owner"


def test_goals_add_and_list(acme: None, capsys: pytest.CaptureFixture[str]) -> None:
    page = ok_json(
        run(
            capsys,
            "goals",
            "add",
            "--site",
            "acme.test",
            "--name",
            "Docs",
            "--path",
            "/docs",
            "--match",
            "prefix",
        )
    )
    assert (page["type"], page["match_type"], page["path"]) == ("url", "prefix", "/docs")
    event = ok_json(
        run(capsys, "goals", "add", "--site", "acme.test", "--name", "Signups", "--event", "Signup")
    )
    assert (event["type"], event["event_name"], event["match_type"]) == ("event", "Signup", None)
    listed = json_lines(run(capsys, "goals", "list", "--site", "www.acme.test"))
    assert {g["id"] for g in listed} == {page["id"], event["id"]}
    assert_error(
        run(capsys, "goals", "add", "--site", "acme.test", "--name", "X", "--path", "docs"), "path: "
    )
    both = ("goals", "add", "--site", "acme.test", "--name", "X", "--path", "/a", "--event", "E")
    assert_error(run(capsys, *both), "not allowed with")
    assert_error(
        run(
            capsys, "goals", "add", "--site", "acme.test", "--name", "X", "--event", "E", "--match", "prefix"
        ),
        "match: ",
    )
    assert_error(run(capsys, "goals", "list", "--site", "nope.test"), "site: not found")


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (("sites", "add", "acme.test", "--tenant", "acme"), "domain: already exists"),
        (("sites", "add", "new.test", "--tenant", "nope"), "tenant: not found"),
        (("sites", "add", "new.test", "--tenant", "acme", "--timezone", "Mars/Base"), "timezone: "),
        (("sites", "add", "new.test", "--tenant", "acme", "--currency", "euro"), "currency: "),
        (("sites", "add", "not a domain", "--tenant", "acme"), "domain: "),
        (("sites", "list", "--tenant", "nope"), "tenant: not found"),
        (("tenants", "create", "acme"), "slug: already exists"),
        (("tenants", "create", "Bad Slug"), "slug: "),
        (("tenants", "create", "beta", "--plan", "gold"), "plan: "),
        (("tokens", "create", "--tenant", "acme", "--scopes", "root"), "scopes: "),
        (("tokens", "create", "--tenant", "nope"), "tenant: not found"),
        (("tenants",), "required"),
        (("frobnicate",), "invalid choice"),
        (("demo", "--days", "0"), "--days"),
        (("serve", "--port", "http"), "--port"),
    ],
)
def test_errors_are_one_line_exit_2(
    acme: None, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], text: str
) -> None:
    assert_error(run(capsys, *argv), text)


def test_unexpected_failure_is_one_line_exit_1(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(_conn: object) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(accounts, "list_tenants", boom)
    assert_error(run(capsys, "tenants", "list"), "RuntimeError: disk on fire", code=1)


def test_bad_settings_are_one_line_exit_2(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_PORT", "not-a-port")
    assert_error(run(capsys, "tenants", "list"), "ANALYTICS_PORT: ")


HELP_COMMANDS = [
    (),
    ("serve",),
    ("migrate",),
    ("import",),
    ("demo",),
    ("mcp",),
    ("tenants",),
    ("tenants", "create"),
    ("tenants", "list"),
    ("sites",),
    ("sites", "add"),
    ("sites", "list"),
    ("tokens",),
    ("tokens", "create"),
    ("tokens", "list"),
    ("tokens", "revoke"),
    ("users",),
    ("users", "create"),
    ("goals",),
    ("goals", "add"),
    ("goals", "list"),
]


@pytest.mark.parametrize("argv", HELP_COMMANDS, ids=lambda argv: " ".join(argv) or "top")
def test_help(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    code, out, err = run(capsys, *argv, "--help")
    assert (code, err) == (0, "") and out.startswith("usage: analytics-mcp")


@FIRST_RUN
def test_migrate_prints_revision(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "migrate")
    assert (code, err) == (0, "") and re.fullmatch(r"\w+\n", out)


def test_serve_runs_uvicorn_without_access_log(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[object, dict[str, Any]]] = []
    fake_app = types.SimpleNamespace(create_app=lambda settings, **_: ("app", settings.database_url))
    monkeypatch.setitem(sys.modules, "analytics_mcp.app", fake_app)
    monkeypatch.setattr(analytics_mcp, "app", fake_app, raising=False)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))
    assert run(capsys, "serve", "--port", "8123")[0] == 0
    ((app, kwargs),) = calls
    assert app == ("app", db_url)
    assert kwargs["access_log"] is False and kwargs["proxy_headers"] is False
    assert (kwargs["host"], kwargs["port"]) == ("127.0.0.1", 8123)


def test_demo_and_mcp_delegate(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def run_demo(settings: Settings, **kwargs: Any) -> None:
        seen.append(("demo", kwargs))

    async def run_stdio(settings: Settings) -> None:  # async delegates are awaited too
        seen.append(("mcp", {"db": settings.database_url}))

    monkeypatch.setitem(sys.modules, "analytics_mcp.demo", types.SimpleNamespace(run_demo=run_demo))
    monkeypatch.setitem(sys.modules, "analytics_mcp.tools.stdio", types.SimpleNamespace(run_stdio=run_stdio))
    assert run(capsys, "demo", "--days", "7", "--no-serve", "--port", "9000")[0] == 0
    assert run(capsys, "mcp") == (0, "", "")
    assert seen == [
        ("demo", {"days": 7, "serve": False, "host": "127.0.0.1", "port": 9000}),
        ("mcp", {"db": db_url}),
    ]


def test_import_prints_summary(acme: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text('not json\n\n{"name": "pageview"}\n')
    code, out, err = run(capsys, "import", str(events), "--site", "acme.test")
    assert code == 1 and err == ""  # every line was rejected: not a success
    summary = json.loads(out)
    assert {"accepted", "duplicate", "dropped", "rejected", "errors"} <= summary.keys()
    assert summary["rejected"] == 2 and summary["accepted"] == 0
    assert_error(
        run(capsys, "import", str(tmp_path / "missing.ndjson"), "--site", "acme.test"), "file: not found"
    )
    assert_error(run(capsys, "import", str(events), "--site", "nope.test"), "site: not found")


def test_import_twice_stores_once_and_refuses_other_sites(
    acme: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    when = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    base = {"name": "pageview", "timestamp": when, "ip": "198.51.100.4", "user_agent": CHROME_WIN}
    lines = [
        {**base, "url": "https://acme.test/a"},
        {**base, "url": "https://shop.acme.test/b"},  # a subdomain belongs to the site
        {**base, "url": "https://www.acme.test/c", "event_id": "given"},
        {**base, "url": "https://evil.test/x"},  # another host, filed under --site before
        {**base, "url": "https://acme.test/d", "domain": "other.test"},  # another site
    ]
    events = tmp_path / "events.ndjson"
    events.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    code, out, _err = run(capsys, "import", str(events), "--site", "acme.test")
    first = json.loads(out)
    assert code == 1 and (first["accepted"], first["rejected"]) == (3, 2)
    assert [(e["line"], e["field"]) for e in first["errors"]] == [(4, "url"), (5, "domain")]
    assert "evil.test is not on the imported site acme.test" in first["errors"][0]["message"]
    again = json.loads(run(capsys, "import", str(events), "--site", "acme.test")[1])
    assert (again["accepted"], again["duplicate"], again["rejected"]) == (0, 3, 2)


# -- real processes ----------------------------------------------------------------------------


def cli(db_url: str, *argv: str, module: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "analytics_mcp.cli"] if module else [str(BIN_DIR / "analytics-mcp")]
    env = {**os.environ, "ANALYTICS_DB_URL": db_url}
    return subprocess.run([*command, *argv], env=env, capture_output=True, text=True, timeout=60, check=False)


@FIRST_RUN
def test_console_script_end_to_end(db_url: str) -> None:
    assert cli(db_url, "tenants", "create", "acme").returncode == 0
    site = cli(db_url, "sites", "add", "acme.test", "--tenant", "acme")
    assert site.returncode == 0 and json.loads(site.stdout)["domain"] == "acme.test"
    token = cli(db_url, "tokens", "create", "--tenant", "acme", module=True)
    assert token.returncode == 0 and token.stderr == "" and TOKEN_LINE.match(token.stdout)
    duplicate = cli(db_url, "sites", "add", "www.acme.test", "--tenant", "acme")
    assert duplicate.returncode == 2 and duplicate.stdout == ""
    assert duplicate.stderr == "error: domain: already exists\n"
    helped = cli(db_url, "tokens", "create", "--help")
    assert helped.returncode == 0 and "--scopes" in helped.stdout

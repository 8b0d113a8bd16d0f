"""`analytics-mcp segments add|list|archive|compute` in-process through main(argv), on the
operator's database (SQLite file or PostgreSQL), with profiles imported through the same code as
POST /api/v1/profiles."""

from __future__ import annotations

import asyncio
import json

import pytest

from analytics_mcp.config import Settings
from analytics_mcp.platform.profiles import import_profiles
from analytics_mcp.services import Services
from analytics_mcp.storage import accounts
from test_cli import assert_error, db_url, json_lines, ok_json, run

__all__ = ["db_url"]
pytestmark = pytest.mark.backends()
PRO = '[{"type": "trait", "trait": "plan", "op": "equals", "value": "pro"}]'


def test_add_list_compute_archive(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    ok_json(run(capsys, "tenants", "create", "acme"))
    ok_json(run(capsys, "sites", "add", "acme.test", "--tenant", "acme"))
    services = Services.build(Settings(_env_file=None))  # type: ignore[call-arg]
    with services.db.sync.connect() as conn:
        tenant = accounts.require_tenant(conn, "acme")
        sites = accounts.list_sites(conn, tenant.id)
    lines = [{"user_id": "a", "traits": {"plan": "pro"}}, {"user_id": "b", "traits": {"plan": "free"}}]
    asyncio.run(import_profiles(services, tenant.id, sites, lines))
    services.db.sync.dispose()
    asyncio.run(services.db.aio.dispose())
    added = ok_json(run(capsys, "segments", "add", "--tenant", "acme", "--name", "Pro", "--rules", PRO))
    assert (added["name"], added["status"], added["member_count"]) == ("Pro", "active", 0)
    done = json_lines(run(capsys, "segments", "compute", "--tenant", "acme", "--day", "2026-12-01"))
    assert done == [{"id": added["id"], "name": "Pro", "day": "2026-12-01", "member_count": 1}]
    listed = json_lines(run(capsys, "segments", "list", "--tenant", "acme"))
    assert [(s["name"], s["member_count"]) for s in listed] == [("Pro", 1)]
    assert listed[0]["last_computed_at"].endswith("Z")
    bad = run(capsys, "segments", "add", "--tenant", "acme", "--name", "X", "--rules", '[{"type": "event"}]')
    assert_error(bad, "rules.0.event.event")
    assert_error(
        run(capsys, "segments", "add", "--tenant", "acme", "--name", "X", "--rules", "[nope"), "rules"
    )
    assert_error(run(capsys, "segments", "archive", "--tenant", "acme", "--id", "999"), "id: not found")
    archived = ok_json(run(capsys, "segments", "archive", "--tenant", "acme", "--id", str(added["id"])))
    assert archived["status"] == "archived"
    assert json_lines(run(capsys, "segments", "list", "--tenant", "acme")) == []
    assert len(json_lines(run(capsys, "segments", "list", "--tenant", "acme", "--all"))) == 1
    assert json.loads(json.dumps(archived["rules"])) == json.loads(PRO)

"""`analytics-mcp spool status|store-failed`: frames set aside in failed/ are stored once their
cause is gone, idempotently, and never while a server holds the spool."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from analytics_mcp.cli import main
from analytics_mcp.config import Settings
from analytics_mcp.ingest.batch_processor import BatchProcessor
from analytics_mcp.ingest.bulk_import import validate_line
from analytics_mcp.ingest.event import PendingEvent
from analytics_mcp.ingest.spool.codec import encode
from analytics_mcp.ingest.spool.frames import take_lock
from analytics_mcp.ingest.spool.storing import durable_write
from analytics_mcp.services import Services
from analytics_mcp.storage.schema import events
from factories import event, make_site


@pytest.fixture
def spool_dir(services: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("ANALYTICS_DB_URL", raising=False)
    make_site(services)
    return settings.data_dir / "analytics.db-spool"


def failed_frame(services: Services, spool_dir: Path, name: str, ids: list[str]) -> None:
    """A frame as the writer process sets it aside: prepared events, pickled."""
    when = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    batch = [validate_line(event(when, f"/{i}", event_id=i), now_ms=int(time.time() * 1000)) for i in ids]
    assert all(isinstance(e, PendingEvent) for e in batch)
    with services.db.sync.begin() as conn:
        live, _ = BatchProcessor().prepare(conn, batch)  # type: ignore[arg-type]
    (spool_dir / "failed").mkdir(parents=True, exist_ok=True)
    durable_write(spool_dir / "failed" / name, encode(live))


def stored(services: Services) -> int:
    with services.db.sync.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_failed_frames_are_stored_once_and_kept_while_they_fail(
    services: Services, spool_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failed_frame(services, spool_dir, "00000000000000000100.frame", ["a", "b", "c"])
    failed_frame(services, spool_dir, "00000000000000000200.frame", ["c", "d"])  # "c" in both
    durable_write(spool_dir / "failed" / "00000000000000000300.frame", b"not a frame")
    assert cli_json(capsys, "spool", "status")[1]["failed_frames"] == 3

    code, summary = cli_json(capsys, "spool", "store-failed")
    assert code == 1  # one frame still fails: kept and named
    assert (summary["frames"], summary["stored_events"], summary["already_stored"]) == (3, 4, 1)
    assert [line.split(":")[0] for line in summary["still_failing"]] == ["00000000000000000300.frame"]  # type: ignore[attr-defined]
    assert stored(services) == 4
    assert [p.name for p in (spool_dir / "failed").iterdir()] == ["00000000000000000300.frame"]

    (spool_dir / "failed" / "00000000000000000300.frame").unlink()
    assert cli_json(capsys, "spool", "store-failed") == (
        0,
        {"frames": 0, "stored_events": 0, "already_stored": 0, "still_failing": []},
    )
    assert stored(services) == 4


def test_store_failed_refuses_while_a_server_holds_the_spool(
    services: Services, spool_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failed_frame(services, spool_dir, "00000000000000000100.frame", ["a"])
    lock = take_lock(spool_dir)
    try:
        assert main(["spool", "store-failed"]) == 2
        assert "spool: a running server holds it" in capsys.readouterr().err
    finally:
        lock.close()
    assert stored(services) == 0

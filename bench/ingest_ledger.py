"""Exact accounting for bench/ingest.py: which event ids the clients were told are stored (a 202
"accepted"), which were refused, which never got a reply, compared id by id with the database.

The wrk script runs one connection per thread (`-t` = `-c`), so each thread's replies come back
in the order of its requests and every reply is paired with the event id it answers; `done()`
writes one ledger line per event id: `<id> <status> <body status>`, or `<id> -` when no reply came
(in flight when wrk stopped, or a connection error). Before the run wrk calls `request()` once
on the first thread to check the script: that id, w1-1, is never sent and is left out.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psycopg

WRK_SCRIPT = """
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  counter, pending, ledger = 0, nil, {}
end

function request()
  if pending then ledger[#ledger + 1] = pending .. " -" end
  counter = counter + 1
  pending = "w" .. tid .. "-" .. counter
  local ip = "198.18." .. (tid % 250) .. "." .. (counter % 250)
  local body = '{"name":"pageview","url":"https://DOMAIN_/page-' .. (counter % 50) ..
    '","domain":"DOMAIN_","referrer":"https://www.google.com/","event_id":"' .. pending ..
    '","language":"en-US"}'
  return wrk.format("POST", "/api/event",
    {["Content-Type"] = "text/plain", ["User-Agent"] = "UA_", ["X-Forwarded-For"] = ip}, body)
end

function response(status, headers, body)
  ledger[#ledger + 1] = pending .. " " .. status .. " " .. (string.match(body, '"status":"(%a+)"') or "")
  pending = nil
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("BENCH_LEDGER"), "w"))
  for _, thread in ipairs(threads) do
    for _, line in ipairs(thread:get("ledger")) do out:write(line, "\\n") end
    local last = thread:get("pending")
    if last then out:write(last, " -\\n") end
  end
  out:close()
end
"""


@dataclass
class Ledger:
    """What the clients were told, per event id."""

    acked: set[str] = field(default_factory=set)  # 202 "accepted": must be stored, once
    other_202: set[str] = field(default_factory=set)  # 202 "duplicate" / "dropped": not stored
    refused: set[str] = field(default_factory=set)  # any other status: must not be stored
    unanswered: set[str] = field(default_factory=set)  # no reply seen: may or may not be stored

    @property
    def sent(self) -> set[str]:
        return self.acked | self.other_202 | self.refused | self.unanswered

    def record(self, event_id: str, status: int | None, body_status: str = "") -> None:
        self.record_all((event_id,), status, body_status)

    def record_all(self, event_ids: Iterable[str], status: int | None, body_status: str = "") -> None:
        """One reply's ids at once (a set update in C: the clients share the server's cores)."""
        if status is None:
            self.unanswered.update(event_ids)
        elif status == 202 and body_status == "accepted":
            self.acked.update(event_ids)
        elif status == 202:
            self.other_202.update(event_ids)
        else:
            self.refused.update(event_ids)


def read_wrk_ledger(path: Path) -> Ledger:
    ledger = Ledger()
    for line in path.read_text().splitlines():
        event_id, status, *rest = line.split(" ")
        if line == "w1-1 -":  # wrk's check of the script: never sent
            continue
        ledger.record(event_id, None if status == "-" else int(status), rest[0] if rest else "")
    return ledger


def stored_ids(database: Path | str, prefix: str) -> Counter[str]:
    """How many rows the database (a SQLite file, a postgresql:// URL, or a chdb:// URL read with
    FINAL, as the engine reads it) holds per client event id starting with `prefix`."""
    sql = (
        "SELECT client_event_id, count(*) FROM events WHERE client_event_id LIKE {} GROUP BY client_event_id"
    )
    if isinstance(database, str) and database.startswith("chdb://"):
        quoted = sql.format(f"'{prefix}%'")
        rows = _chdb_rows(database, quoted.replace("FROM events", "FROM {db}.events FINAL"))
    elif isinstance(database, str):
        with psycopg.connect(database) as pg:
            rows = pg.execute(sql.format("%s"), (f"{prefix}%",)).fetchall()
    else:
        with sqlite3.connect(database) as conn:
            rows = conn.execute(sql.format("?"), (f"{prefix}%",)).fetchall()
    return Counter({event_id: count for event_id, count in rows})


_CHDB_READ = """
import sys, orjson
from analytics_mcp.storage.clickhouse import open_clickhouse
events = open_clickhouse(sys.argv[1])
sys.stdout.buffer.write(orjson.dumps(events.rows(sys.argv[2].replace("{db}", events.database))))
"""


def _chdb_rows(url: str, sql: str) -> list[tuple[str, int]]:
    """Rows of `sql` ({db}: the URL's database) read in a child process: chDB opens one directory
    per process, and this one must not hold the server's directory (nor another run's)."""
    out = subprocess.run([sys.executable, "-c", _CHDB_READ, url, sql], capture_output=True, check=True)
    return [(str(event_id), int(count)) for event_id, count in orjson.loads(out.stdout)]


@dataclass(frozen=True)
class Accounting:
    sent: int
    acked: int
    other_202: int
    refused: int
    unanswered: int
    stored: int  # distinct ids in the database
    lost: int  # acknowledged, not stored
    unacked_stored: int  # stored, reply never seen: fine (in flight when the client stopped)
    stored_refused: int  # stored although the reply refused it: never fine
    stored_unsent: int  # stored ids no client sent
    duplicates: int  # rows beyond one per id

    @property
    def exact(self) -> bool:
        return not (self.lost or self.stored_refused or self.stored_unsent or self.duplicates)

    def lines(self) -> list[str]:
        return [
            f"sent {self.sent}: acknowledged (202 accepted) {self.acked}, other 202 {self.other_202}, "
            f"refused {self.refused}, no reply {self.unanswered}",
            f"stored {self.stored}: lost (acknowledged, not stored) {self.lost}; "
            f"stored without a reply seen {self.unacked_stored} (of {self.unanswered} unanswered); "
            f"stored though refused {self.stored_refused}; "
            f"stored but never sent {self.stored_unsent}; duplicate rows {self.duplicates}",
        ]


def account(ledger: Ledger, stored: Counter[str]) -> Accounting:
    ids = set(stored)
    return Accounting(
        sent=len(ledger.sent),
        acked=len(ledger.acked),
        other_202=len(ledger.other_202),
        refused=len(ledger.refused),
        unanswered=len(ledger.unanswered),
        stored=len(ids),
        lost=len(ledger.acked - ids),
        unacked_stored=len(ledger.unanswered & ids),
        stored_refused=len(ledger.refused & ids),
        stored_unsent=len(ids - ledger.sent),
        duplicates=sum(stored.values()) - len(ids),
    )

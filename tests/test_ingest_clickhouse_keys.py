"""Prepare's dedup lookup in ClickHouse (`ClickHouseKeys`), on chDB in process: the ids go in as
one NUL-separated `String` split in SQL (an array of 10,000 literals cost three times the parse),
and without the bloom filter from `SKIP_INDEX_IDS` ids on. Whatever the form, the lookup finds
exactly the stored ids among those asked: ids with quotes, backslashes, tabs, newlines, commas,
brackets and non-ASCII characters, the empty string, and an id holding a NUL (the array form)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from analytics_mcp.ingest.clickhouse.reads import SKIP_INDEX_IDS, ClickHouseKeys, joined_strings
from analytics_mcp.storage.clickhouse import ClickHouseEvents, open_clickhouse
from analytics_mcp.storage.clickhouse.migrate import upgrade_clickhouse
from clickhouse_support import chdb_url

ALPHABET = "ab'\\`\t\n\"\u00e9\r ,[]{}0"
COLUMNS = ("id", "site_id", "visit_id", "visitor_id", "ts", "name", "hostname", "pathname")
COLUMNS += ("interactive", "client_event_id", "transaction_id", "version")


@pytest.fixture(scope="module")
def events() -> Iterator[ClickHouseEvents]:
    opened = open_clickhouse(chdb_url("ingest_keys"))
    upgrade_clickhouse(opened)
    yield opened


def _random_id(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 8)))


def _store(events: ClickHouseEvents, rows: list[tuple[int, str, str | None, str]]) -> None:
    """(site, client_event_id, transaction_id, name) rows as events of version 1."""
    values = [
        (n, site, n, n, 1_700_000_000_000 + n, name, "x.test", "/", True, event_id, tx, 1)
        for n, (site, event_id, tx, name) in enumerate(rows, start=1)
    ]
    events.insert("events", values, COLUMNS)


def test_joined_strings_split_back_in_clickhouse(events: ClickHouseEvents) -> None:
    rng = random.Random(5)
    cases = [[""], ["", ""], ["a", "", "b"], ["\\0", "\\", "'"], ["\u00e9\t\n"]]
    cases += [[_random_id(rng) for _ in range(rng.randint(1, 6))] for _ in range(200)]
    for values in cases:
        rows = events.rows("SELECT splitByChar('\\0', {v:String})", {"v": joined_strings(values)})
        assert list(rows[0][0]) == values, values
    assert joined_strings([]) is None
    assert joined_strings(["a\x00b", "c"]) is None  # a NUL of its own: the array form


@pytest.mark.parametrize("asked", [3, SKIP_INDEX_IDS - 1, SKIP_INDEX_IDS, 2_500])
def test_the_lookup_finds_exactly_the_stored_ids(events: ClickHouseEvents, asked: int) -> None:
    rng = random.Random(asked)
    site = 10 * asked  # sites of its own per case (site + 1 too): earlier cases' rows are not in the way
    stored = {f"{asked}-{_random_id(rng)}" for _ in range(400)}
    purchases = {f"tx{asked}-{_random_id(rng)}" for _ in range(50)}
    rows = [(site, event_id, None, "pageview") for event_id in sorted(stored)]
    rows += [(site, f"p{n}-{asked}", tx, "purchase") for n, tx in enumerate(sorted(purchases))]
    rows += [(site + 1, "other-site", "tx-other", "purchase")]  # the same ids on another site
    _store(events, rows)
    keys = ClickHouseKeys(events)
    candidates = sorted(stored) + [f"{asked}-new-{_random_id(rng)}" for _ in range(asked)]
    wanted = [*rng.sample(candidates, asked), "other-site"]
    found = keys.existing("client_event_id", [(site, v) for v in wanted], purchase_only=False)
    assert found == {(site, v) for v in wanted if v in stored}
    assert found  # the sample holds stored ids (nothing found would prove nothing)
    tx_wanted = [*sorted(purchases)[: asked // 2 + 1], "tx-new", "tx-other"]
    tx_found = keys.existing("transaction_id", [(site, v) for v in tx_wanted], purchase_only=True)
    assert tx_found == {(site, v) for v in tx_wanted if v in purchases}


def test_an_id_holding_a_nul_is_looked_up_as_an_array(events: ClickHouseEvents) -> None:
    _store(events, [(300, "a\x00b", None, "pageview"), (300, "a", None, "pageview")])
    keys = ClickHouseKeys(events)
    asked = [(300, "a\x00b"), (300, "b"), (300, "a"), (300, "a\x00c")]
    assert keys.existing("client_event_id", asked, purchase_only=False) == {(300, "a\x00b"), (300, "a")}

"""Spool frames decode the same after the decoder builds events positionally: this version's
frames, and frames written before `country`, `user_id` and `traits` existed (shorter tuples)."""

from __future__ import annotations

import pickle
from typing import Any
from zoneinfo import ZoneInfo

from analytics_mcp.ingest.enrich import ClientInfo
from analytics_mcp.ingest.event import PendingEvent, PreparedEvent
from analytics_mcp.ingest.sites import SiteInfo
from analytics_mcp.ingest.spool import codec
from analytics_mcp.ingest.wire import Item

SITE = SiteInfo(1, 1, "bench.test", "USD", ZoneInfo("UTC"), ())


class OneSite:
    def lookup(self, _conn: Any, domain: str) -> SiteInfo | None:
        return SITE if domain == SITE.domain else None


def prepared(index: int, **changes: Any) -> PreparedEvent:
    values: dict[str, Any] = {
        "domain": "bench.test", "name": "purchase", "url": "https://bench.test/a", "referrer": None,
        "props": '{"a":1}', "interactive": True, "event_id": f"e{index}", "revenue": 9.5, "currency": "EUR",
        "transaction_id": f"t{index}", "engagement_ms": None, "scroll_depth": 10, "language": "de",
        "hash_routing": False, "ts": 1_765_000_000_000 + index, "ip": "", "user_agent": "", "country": "DE",
        "user_id": "u1", "traits": '{"plan":"pro"}',
        "items": [Item.model_construct(item_id="sku", item_name="Shoe", price=9.5, quantity=1)],
    }  # fmt: skip
    values.update(changes)
    event = PendingEvent(**values)
    client = ClientInfo("Chrome", "Windows", "desktop")
    return PreparedEvent(index, event, SITE, client, (11, 12), "bench.test", "/a")


def test_this_versions_frame_decodes_to_the_same_events() -> None:
    live = [prepared(0), prepared(1, items=None, user_id=None, traits=None, country=None)]
    assert codec.decode(codec.encode(live), None, OneSite()) == live  # type: ignore[arg-type]


def test_frames_from_before_country_and_identity_still_decode() -> None:
    live = [prepared(0, country=None, user_id=None, traits=None)]
    records = pickle.loads(codec.encode_rows(live))
    for cut in (3, 2):  # without user_id and traits; without country as well
        old = [(values[:-cut], *rest) for values, *rest in records]
        decoded = codec.decode(pickle.dumps(old), None, OneSite())  # type: ignore[arg-type]
        assert decoded == live
        assert codec.frame_keys(pickle.dumps(old))[1] == 1


def test_a_deleted_site_drops_its_events() -> None:
    live = [prepared(0, domain="gone.test"), prepared(1)]
    records = pickle.loads(codec.encode_rows(live))
    records[0] = (records[0][0], records[0][1], 7, "gone.test", *records[0][4:])
    decoded = codec.decode(pickle.dumps(records), None, OneSite())  # type: ignore[arg-type]
    assert [item.event.event_id for item in decoded] == ["e1"]


def test_the_frame_layout_is_unchanged() -> None:
    """What older servers read: one tuple per event, its fields in `_EVENT_FIELDS` order."""
    item = prepared(0)
    values, products, site_id, domain, client, ids, hostname, pathname = pickle.loads(
        codec.encode_rows([item])
    )[0]
    assert values == tuple(getattr(item.event, name) for name in codec._EVENT_FIELDS)
    assert products == [("sku", "Shoe", 9.5, 1)]
    assert (site_id, domain, client, ids, hostname, pathname) == (
        1, "bench.test", ("Chrome", "Windows", "desktop"), (11, 12), "bench.test", "/a"
    )  # fmt: skip

"""Lookup tables for the traffic generator, built once per domain.

Every weighted choice is a fixed-size table indexed by `getrandbits(TABLE_BITS)`: one C call and
one index per draw, several times cheaper than `random.choices`, which matters at 10M events.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from analytics_mcp.demo import catalog
from analytics_mcp.demo.catalog import Product, Source

T = TypeVar("T")
TABLE_BITS = 12
TABLE_SIZE = 1 << TABLE_BITS

# Custom events a page section can trigger: (cumulative probability, event name, props, interactive).
CustomRule = tuple[float, str, dict[str, Any] | None, bool | None]


def weighted_table(items: Sequence[T], weights: Sequence[float], size: int = TABLE_SIZE) -> tuple[T, ...]:
    """`size` slots shared out by weight (largest remainder); every positive weight gets a slot."""
    total = float(sum(weights))
    exact = [w * size / total for w in weights]
    slots = [max(1, math.floor(x)) if w > 0 else 0 for x, w in zip(exact, weights, strict=True)]
    by_remainder = sorted(range(len(items)), key=lambda i: slots[i] - exact[i])
    i = 0
    while sum(slots) != size:
        j = by_remainder[i % len(items)]
        if sum(slots) < size:
            slots[j] += 1
        elif slots[j] > 1:
            slots[j] -= 1
        i += 1
    return tuple(item for item, n in zip(items, slots, strict=True) for _ in range(n))


def zipf(n: int, exponent: float = 0.9) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(n)]


@dataclass(frozen=True, slots=True)
class Model:
    domain: str
    urls: tuple[str, ...]  # full page URLs by page index
    section_of: tuple[int, ...]  # page index -> section index
    entry: tuple[int, ...]  # table of entry page indexes
    next_page: tuple[tuple[int, ...], ...]  # per section: table of next page indexes
    custom: tuple[tuple[CustomRule, ...], ...]  # per section
    custom_rate: tuple[float, ...]  # per section: chance of any custom event on a pageview
    sources: tuple[Source, ...]
    user_agents: tuple[str, ...]
    languages: tuple[str, ...]
    pageviews: tuple[int, ...]  # pageviews per visit
    gaps: tuple[int, ...]  # ms between pageviews (10 s - 5 min)
    exits: tuple[int, ...]  # ms spent on the last page
    engaged: tuple[float, ...]  # share of a page's time it was visible
    scroll: tuple[int, ...]
    products: tuple[Product, ...]
    product_urls: dict[str, str]
    funnel_urls: dict[str, str]


def _page_tables(sections: dict[str, list[str]]) -> tuple[list[str], list[int], list[float], list[float]]:
    """Paths, their section index, and per-page weights (within section) and entry weights."""
    names = list(sections)
    paths: list[str] = []
    section_of: list[int] = []
    entry_w: list[float] = []
    rank_w: list[float] = []
    for index, name in enumerate(names):
        members = sections[name]
        ranks = zipf(len(members))
        share = catalog.ENTRY_SECTIONS.get(name, 0) / sum(ranks)
        for path, weight in zip(members, ranks, strict=True):
            paths.append(path)
            section_of.append(index)
            rank_w.append(weight)
            entry_w.append(weight * share)
    return paths, section_of, entry_w, rank_w


def _next_tables(names: list[str], section_of: list[int], rank_w: list[float]) -> list[tuple[int, ...]]:
    tables = []
    for name in names:
        targets = catalog.NEXT_SECTIONS[name]
        weights = [0.0] * len(section_of)
        for target, target_w in targets.items():
            members = [i for i, s in enumerate(section_of) if names[s] == target]
            total = sum(rank_w[i] for i in members)
            for i in members:
                weights[i] = target_w * rank_w[i] / total
        tables.append(weighted_table(range(len(section_of)), weights))
    return tables


def _custom_rules(domain: str, names: list[str]) -> list[tuple[CustomRule, ...]]:
    def out(url: str) -> dict[str, Any]:
        return {"url": url}

    files = [f"https://{domain}/downloads/{name}" for name in catalog.DOWNLOAD_FILES]
    links = catalog.OUTBOUND_URLS
    rules: dict[str, list[CustomRule]] = {
        "blog": [(0.025, "Outbound Link: Click", out(links[0]), None),
                 (0.035, "Outbound Link: Click", out(links[2]), None),
                 (0.060, "Newsletter", None, True)],
        "docs": [(0.030, "Outbound Link: Click", out(links[1]), None),
                 (0.040, "Outbound Link: Click", out(links[4]), None),
                 (0.050, "Outbound Link: Click", out(links[5]), None),
                 (0.075, "File Download", out(files[2]), None)],
        "pricing": [(0.020, "File Download", out(files[1]), None)],
        "features": [(0.015, "File Download", out(files[0]), None),
                     (0.020, "Outbound Link: Click", out(links[3]), None)],
        "about": [(0.030, "File Download", out(files[3]), None)],
        "home": [(0.010, "Newsletter", None, True)],
        "signup": [(0.200, "Signup", {"plan": "free"}, None),
                   (0.280, "Signup", {"plan": "pro"}, None),
                   (0.300, "Signup", {"plan": "business"}, None)],
    }  # fmt: skip
    return [tuple(rules.get(name, ())) for name in names]


def _timing_tables(rng: random.Random) -> tuple[tuple[int, ...], ...]:
    """Long-tailed durations in ms, pre-drawn once (the run's RNG picks among them)."""
    gaps = tuple(10_000 + min(int(rng.expovariate(1 / 45_000)), 290_000) for _ in range(TABLE_SIZE))
    exits = tuple(2_000 + min(int(rng.expovariate(1 / 40_000)), 240_000) for _ in range(TABLE_SIZE))
    scroll = tuple(min(100, int(100 * rng.random() ** 0.6) + 5) for _ in range(TABLE_SIZE))
    return gaps, exits, scroll


@lru_cache(maxsize=16)
def build_model(domain: str) -> Model:
    sections = catalog.section_paths()
    names = list(sections)
    paths, section_of, entry_w, rank_w = _page_tables(sections)
    gaps, exits, scroll = _timing_tables(random.Random(1))
    custom = _custom_rules(domain, names)
    base = f"https://{domain}"
    agents = catalog.USER_AGENTS
    return Model(
        domain=domain,
        urls=tuple(base + path for path in paths),
        section_of=tuple(section_of),
        entry=weighted_table(range(len(paths)), entry_w),
        next_page=tuple(_next_tables(names, section_of, rank_w)),
        custom=tuple(custom),
        custom_rate=tuple(rules[-1][0] if rules else 0.0 for rules in custom),
        sources=weighted_table(catalog.SOURCES, [s.weight for s in catalog.SOURCES]),
        user_agents=weighted_table([ua for _, _, ua in agents], [w for w, _, _ in agents]),
        languages=weighted_table(list(catalog.LANGUAGES), list(catalog.LANGUAGES.values())),
        pageviews=weighted_table(range(1, 9), (50, 18, 11, 8, 5, 4, 2, 2)),
        gaps=gaps,
        exits=exits,
        engaged=tuple(0.35 + 0.6 * i / TABLE_SIZE for i in range(TABLE_SIZE)),
        scroll=scroll,
        products=weighted_table(catalog.PRODUCTS, catalog.PRODUCT_WEIGHTS),
        product_urls={p.item_id: f"{base}/products/{p.slug}" for p in catalog.PRODUCTS},
        funnel_urls={key: base + path for key, path in catalog.FUNNEL_PATHS.items()},
    )

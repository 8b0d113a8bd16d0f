"""Rounding and comparison rules shared by every result (DESIGN.md: one decimal for rates,
whole seconds for durations, two decimals for money, changes in % or percentage points)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def half_up(value: float, places: int) -> float:
    """Round half away from zero on the decimal text of `value` (no binary surprises), read to 12
    significant digits first (never fewer than places + 1 decimals). A float sum's last bits
    depend on the order its terms were added in, which differs between PostgreSQL and SQLite and
    between rollups and raw rows: five amounts summing to 127.465 give 127.46499999999999 in one
    order and 127.465 in another, and the revenue was 127.46 on one database, 127.47 on the other."""
    text = Decimal(repr(value))
    settled = text.quantize(Decimal(1).scaleb(min(-places - 1, text.adjusted() - 11)), rounding=ROUND_HALF_UP)
    return float(settled.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def seconds(ms: float | None) -> int:
    return 0 if ms is None else int(half_up(ms / 1000, 0))


def rate(part: float, whole: float) -> float:
    """part / whole x 100 with one decimal; 0.0 when there is no whole."""
    return half_up(part / whole * 100, 1) if whole else 0.0


def ratio(part: float, whole: float, places: int) -> float:
    return half_up(part / whole, places) if whole else 0.0


def money(amount: float | None) -> float:
    return half_up(amount or 0.0, 2)


def change(current: float, previous: float) -> float | None:
    """Relative change in % (one decimal); None when the previous value is 0."""
    if not previous:
        return None
    return half_up((current - previous) / previous * 100, 1)


def point_change(current: float, previous: float, current_base: float, previous_base: float) -> float | None:
    """Difference of two rates in percentage points; None when either rate had no base (no visits,
    no visitors), since a rate of nothing is not 0 %."""
    if not current_base or not previous_base:
        return None
    return half_up(current - previous, 1)

"""Rounding and comparison rules shared by every result (DESIGN.md: one decimal for rates,
whole seconds for durations, two decimals for money, changes in % or percentage points)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def half_up(value: float, places: int) -> float:
    """Round half away from zero on the decimal text of `value` (no binary surprises)."""
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


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

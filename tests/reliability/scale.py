"""How hard the reliability suite pushes: `RELIABILITY_SCALE=fast` (the default, run by `make
test`) or `full` (`make check-reliability`). Every module sizes its work through `scale`."""

from __future__ import annotations

import os

SCALES = ("fast", "full")


def current() -> str:
    value = os.environ.get("RELIABILITY_SCALE", "fast").strip().lower() or "fast"
    if value not in SCALES:
        raise ValueError(f"RELIABILITY_SCALE must be one of {', '.join(SCALES)}, not {value!r}")
    return value


def scale(fast: int, full: int) -> int:
    """`fast` in the quick subset, `full` under RELIABILITY_SCALE=full."""
    return full if current() == "full" else fast

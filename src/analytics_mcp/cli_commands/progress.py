"""A progress bar per table on stderr for long commands (`db copy`): on a terminal one line
redrawn in place (rows done of the total, percent, rows per second); otherwise quiet but for one
line per finished table, so logs stay readable."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 24
REDRAW_SECONDS = 0.1


class TableBar:
    def __init__(self, name: str, total: int, done: int = 0, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._live = self._stream.isatty()
        self._name, self._total, self._start_rows = name, total, done
        self.done = done
        self._started = self._drawn = time.monotonic()
        if self._live:
            self._draw()

    def add(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if self._live and now - self._drawn >= REDRAW_SECONDS:
            self._drawn = now
            self._draw()

    def rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return (self.done - self._start_rows) / elapsed if elapsed > 0 else 0.0

    def close(self) -> None:
        if self._live:
            self._draw()
            self._stream.write("\n")
        else:
            resumed = f", resumed at {self._start_rows:,}" if self._start_rows else ""
            elapsed = time.monotonic() - self._started
            self._stream.write(
                f"{self._name}: {self.done:,} of {self._total:,} rows in {elapsed:.1f}s "
                f"({self.rate():,.0f} rows/s{resumed})\n"
            )
        self._stream.flush()

    def _draw(self) -> None:
        share = min(1.0, self.done / self._total) if self._total else 1.0
        filled = round(share * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self._stream.write(
            f"\r{self._name:<20} [{bar}] {self.done:>12,} / {self._total:,} "
            f"{share:>4.0%} {self.rate():>10,.0f} rows/s"
        )
        self._stream.flush()

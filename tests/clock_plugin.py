"""pytest plugin for scripts/test_clocks.sh: every test starts at the UTC instant CLOCK_AT.

Loaded with `-p clock_plugin` in a pytest run under libfaketime (LD_PRELOAD) that reads its offset
from FAKETIME_TIMESTAMP_FILE on every call (FAKETIME_NO_CACHE=1). Before each test the offset is
set so the wall clock reads CLOCK_AT, and it runs on from there during the test: in this process
and in every process the test starts (servers, writer processes, Chromium), which read the same
file. Monotonic clocks move with it (libfaketime 0.9.10 fails time.sleep with EINVAL when only the
wall clock is offset); they are continuous within a test.

Playwright's driver and Chromium run on the real clock: a browser kept across tests would see its
monotonic clock jump back at each test, and Node aborts ("Assertion failed: (now) >=
(timer_base())"). A test that needs the browser's date pins it with `page.clock`.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

import pytest

_offset = 0.0  # what the file says now: real time = time.time() - _offset


def _write_offset(offset: float) -> None:
    global _offset
    path = os.environ["FAKETIME_TIMESTAMP_FILE"]
    with open(f"{path}.tmp", "w") as handle:
        handle.write(f"{offset:+.3f}s\n")
    os.replace(f"{path}.tmp", path)
    _offset = offset


FAKETIME_ENV = ("LD_PRELOAD", "FAKETIME_TIMESTAMP_FILE", "FAKETIME_NO_CACHE")


def pytest_configure(config: pytest.Config) -> None:
    try:
        from playwright._impl import transport
    except ImportError:
        return
    driver_env = transport.get_driver_env

    def real_clock_env() -> dict[str, str]:
        env: dict[str, str] = driver_env()
        for name in FAKETIME_ENV:
            env.pop(name, None)
        return env

    transport.get_driver_env = real_clock_env


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    target = datetime.fromisoformat(os.environ["CLOCK_AT"].replace("Z", "+00:00")).timestamp()
    _write_offset(target - (time.time() - _offset))

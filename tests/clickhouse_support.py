"""chDB for the tests: one engine per process (a second path cannot be opened), so every test
module uses this process's directory and a database of its own (`chdb:///dir?database=name`)."""

from __future__ import annotations

import atexit
import shutil
import tempfile

_DIRECTORY = tempfile.mkdtemp(prefix="chdb-tests-")
atexit.register(shutil.rmtree, _DIRECTORY, True)


def chdb_url(database: str) -> str:
    return f"chdb://{_DIRECTORY}?database={database}"

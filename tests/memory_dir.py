"""Where the tests keep PostgreSQL's clusters: a tmpfs when there is one with room.

On an ext4 /tmp that has seen many files deleted (the suite deletes thousands), creating a file
cost ~0.35 ms of kernel CPU (perf: ext4_create -> find_inode_bit -> recently_deleted, the inode
allocator skipping inodes deleted lately). A PostgreSQL test database is a copy of its template's
~1,000 files: 300-450 ms on that disk, 17-40 ms on a tmpfs. The clusters hold test data only, and
a tmpfs is memory: it is used only with room to spare (a container's default /dev/shm is 64 MB);
else the system's temporary directory, as before. chDB is not moved: test_ingest_clickhouse
spent more CPU with its directory on /dev/shm (138 / 138 CPU-s against 118 / 114 on /tmp, kernel
time 24 s against 11-14 s), for reasons not looked into.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED_MEMORY = Path("/dev/shm")
MEMORY_ROOM = 4 * 1024**3


def memory_directory() -> Path | None:
    """/dev/shm when it is writable with MEMORY_ROOM free, else None (the temporary directory)."""
    try:
        stats = os.statvfs(SHARED_MEMORY)
    except OSError:
        return None
    room = stats.f_bavail * stats.f_frsize
    return SHARED_MEMORY if room >= MEMORY_ROOM and os.access(SHARED_MEMORY, os.W_OK) else None

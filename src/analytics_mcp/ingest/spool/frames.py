"""The ingestion spool: an append-only log of prepared events on disk.

A 202 means the event is durable: with the writer process, the server appends each group-commit
batch to the spool as one frame and fsyncs before it answers; the writer process stores frames
into the database later, moving its position (`ingest_spool`) in the same transaction. A restart
resumes after that position, so every acknowledged event is stored exactly once.

Layout: segment files named by the offset of their first byte (offsets are global, so a position
is one integer); a frame is `length, crc32, payload`. A crash can only tear the last frame, which
was never acknowledged: opening the spool for writing cuts it off. Frames hold no raw IP or
User-Agent (identity is computed before spooling).
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("analytics_mcp.ingest")

HEADER = struct.Struct("<II")  # payload length, crc32 of the payload
SEGMENT_BYTES = 64 * 1024 * 1024
NAME_FILE = "name"
LEGACY_NAME = "events"
_SUFFIX = ".seg"


class SpoolError(Exception):
    """The spool cannot be used (held by another server, or unreadable)."""


def segment_starts(directory: Path) -> list[int]:
    return sorted(int(p.name[: -len(_SUFFIX)]) for p in directory.glob(f"*{_SUFFIX}"))


def take_lock(directory: Path) -> BinaryIO:
    """The spool's owner lock: one server (or one maintenance command) at a time."""
    handle = open(directory / "lock", "a+b")  # noqa: SIM115 - the caller holds it
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        raise SpoolError(f"{directory} is used by another server") from exc
    return handle


def spool_name(directory: Path) -> str:
    """The name this spool's stored position is kept under (an `ingest_spool` row): one per
    spool, so several servers, each with its own spool, can share one database. A spool written
    before names were kept (it has segments and no name) keeps the old single name, "events"."""
    path = directory / NAME_FILE
    if path.exists():
        return path.read_text().strip()
    directory.mkdir(parents=True, exist_ok=True)
    name = LEGACY_NAME if segment_starts(directory) else f"spool-{uuid.uuid4().hex}"
    with open(path, "w") as handle:
        handle.write(name)
        os.fsync(handle.fileno())
    sync_directory(directory)
    return name


def spooled_end(directory: Path) -> int:
    """Where the spool's last segment ends (a torn tail included: opening it cuts that)."""
    starts = segment_starts(directory)
    return starts[-1] + _path(directory, starts[-1]).stat().st_size if starts else 0


def _path(directory: Path, start: int) -> Path:
    return directory / f"{start:020d}{_SUFFIX}"


class SpoolWriter:
    """The server's end: appends frames, fsyncs, and deletes segments once stored."""

    def __init__(self, directory: Path, stored_position: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._lock = take_lock(directory)  # held while the server runs
        starts = segment_starts(directory)
        self._start = self.end = stored_position
        if starts:
            self._start = starts[-1]
            self.end = self._repair(_path(directory, self._start), self._start)
        if self.end < stored_position:  # a new spool, or one older than the database
            if starts:
                log.warning("the spool ends before the stored position; starting a new segment")
            self._start = self.end = stored_position
        if not _path(directory, self._start).exists():
            _path(directory, self._start).touch()
            self._sync_directory()
        self._file = open(_path(directory, self._start), "ab", buffering=0)  # noqa: SIM115

    def _repair(self, path: Path, start: int) -> int:
        """Cut whatever follows the last whole, intact frame; the segment's end offset."""
        size = path.stat().st_size
        with open(path, "r+b") as handle:
            good = 0
            while _read_frame(handle, size - good) is not None:
                good = handle.tell()
            if good < size:
                log.warning("spool %s: cutting %d bytes of an unfinished frame", path.name, size - good)
                handle.truncate(good)
                os.fsync(handle.fileno())
        return start + good

    def append(self, payload: bytes) -> int:
        """Write one frame and fsync it; returns the spool's end after it."""
        if self.end - self._start >= SEGMENT_BYTES:
            self._rotate()
        try:
            self._file.write(HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
            os.fdatasync(self._file.fileno())
        except OSError:
            os.truncate(self._file.fileno(), self.end - self._start)  # no half frame before the next
            raise
        self.end += HEADER.size + len(payload)
        return self.end

    def _rotate(self) -> None:
        self._file.close()
        self._start = self.end
        self._file = open(_path(self.directory, self._start), "ab", buffering=0)  # noqa: SIM115
        self._sync_directory()

    def _sync_directory(self) -> None:
        sync_directory(self.directory)

    def retire(self, stored_position: int) -> None:
        """Delete segments whose every frame is stored (never the one being written)."""
        starts = segment_starts(self.directory)
        for start, following in itertools.pairwise(starts):
            if following <= stored_position and start != self._start:
                _path(self.directory, start).unlink(missing_ok=True)

    def close(self) -> None:
        self._file.close()
        self._lock.close()


def sync_directory(directory: Path) -> None:
    """fsync a directory, so a file created in it survives a power loss."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpoolReader:
    """The writer process's end: frames between two positions, in order."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.name = spool_name(directory)

    def frames(self, position: int, stop: int, max_bytes: int) -> Iterator[tuple[int, bytes]]:
        """(end offset, payload) of the frames from `position` up to `stop`, at least one and then
        while their total stays under max_bytes."""
        starts = segment_starts(self.directory)
        taken = 0
        for index, start in enumerate(starts):
            following = starts[index + 1] if index + 1 < len(starts) else None
            if following is not None and following <= position:
                continue
            if position < start:  # frames before the oldest segment are gone (restored database)
                log.error("spool: frames %d..%d are missing; resuming at %d", position, start, start)
                position = start
            with open(_path(self.directory, start), "rb") as handle:
                handle.seek(position - start)
                while position < stop:
                    payload = _read_frame(handle, stop - position)
                    if payload is None:
                        break
                    position += HEADER.size + len(payload)
                    taken += len(payload)
                    yield position, payload
                    if taken >= max_bytes:
                        return
            if following is None or position >= stop:
                return
            position = following


def _read_frame(handle: BinaryIO, room: int) -> bytes | None:
    """The next whole, intact frame within `room` bytes, else None (end of segment)."""
    header = handle.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    length, crc = HEADER.unpack(header)
    if HEADER.size + length > room:
        return None
    payload = handle.read(length)
    if len(payload) < length or zlib.crc32(payload) != crc:
        return None
    return payload

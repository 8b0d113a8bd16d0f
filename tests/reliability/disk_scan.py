"""Searching every byte under a directory for secrets: client addresses as text (as sent,
exploded, upper case) and packed (4 or 16 bytes; an IPv4-mapped IPv6 address, as text or packed,
contains the IPv4 form), and User-Agent markers (as sent and lower case).

One pass per distinct 4-byte prefix of the needles (a few hundred, not one per needle), then the
candidates at each occurrence are looked up by length."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = 4


def needles(ips: Iterable[str], user_agents: Iterable[str]) -> dict[bytes, str]:
    """Every form of the secrets worth searching for -> what it is."""
    found: dict[bytes, str] = {}
    for text in ips:
        ip = ipaddress.ip_address(text)
        found[ip.packed] = f"IP {text} packed"
        found.update({form.encode(): f"IP {text} as {form!r}" for form in {text, ip.exploded, text.upper()}})
    for marker in user_agents:
        found[marker.encode()] = f"User-Agent marker {marker}"
        found[marker.lower().encode()] = f"User-Agent marker {marker} (lower case)"
    return found


def files_under(directory: Path) -> Iterator[Path]:
    yield from sorted(p for p in directory.rglob("*") if p.is_file())


@dataclass(frozen=True)
class Scan:
    files: int
    size: int
    hits: list[str]


def _index(secrets: Mapping[bytes, str]) -> dict[bytes, dict[int, dict[bytes, str]]]:
    index: dict[bytes, dict[int, dict[bytes, str]]] = defaultdict(lambda: defaultdict(dict))
    for needle, what in secrets.items():
        index[needle[:PREFIX]][len(needle)][needle] = what
    return index


def _hits_in(
    data: bytes, index: dict[bytes, dict[int, dict[bytes, str]]]
) -> Iterator[tuple[int, bytes, str]]:
    for prefix, by_length in index.items():
        at = data.find(prefix)
        while at >= 0:
            for length, table in by_length.items():
                what = table.get(data[at : at + length])
                if what is not None:
                    yield at, data[at : at + length], what
            at = data.find(prefix, at + 1)


def scan(directory: Path, secrets: Mapping[bytes, str]) -> Scan:
    """Every file under `directory` searched for every secret."""
    index = _index(secrets)
    files = size = 0
    hits = []
    for path in files_under(directory):
        data = path.read_bytes()
        files, size = files + 1, size + len(data)
        for at, needle, what in _hits_in(data, index):
            context = data[max(0, at - 40) : at + len(needle) + 40]
            hits.append(f"{path.relative_to(directory)} @ {at}: {what}: {context!r}")
    return Scan(files, size, hits)


def found_anywhere(directory: Path, words: set[str]) -> set[str]:
    """Which of `words` occur in some file under `directory`."""
    secrets = {word.encode(): word for word in words}
    index = _index(secrets)
    return {what for path in files_under(directory) for _at, _n, what in _hits_in(path.read_bytes(), index)}

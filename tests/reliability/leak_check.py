"""The tenant matrix's bookkeeping: an answer about another tenant's resource must hold none of
that tenant's markers and must be the answer about a resource that does not exist, byte for
byte, once the identifier the caller sent itself is masked in both."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

MASK = b"<PROBE>"
# Values that differ on every rendering and say nothing about a tenant: the sign-in form's CSRF.
VOLATILE = (re.compile(rb'name="csrf" value="[^"]*"'),)

# What a probe of each kind sends instead of the other tenant's identifier.
NONEXISTENT = {
    "site": "zqn-nosuch-site.test",
    "goal": "01KZZZZZZZZZZZZZZZZZZZZZZZ",
    "experiment": "zqn-nosuch-experiment",
    "variant": "zqn-nosuch-variant",
    "conversation": "01KYYYYYYYYYYYYYYYYYYYYYYY",
    "email": "owner@zqn-nosuch-site.test",
    "tenant": "zqn-nosuch-tenant",
    "variant_id": "999999",
    "segment": "999999",
}


@dataclass(frozen=True)
class Answer:
    status: int | str  # HTTP status, or "error"/"ok" for an MCP result
    body: bytes
    headers: bytes = b""  # only scanned for markers, never compared (rate-limit counters move)

    def masked(self, sent: str) -> Answer:
        def mask(raw: bytes) -> bytes:
            for value in {sent, quote(sent, safe=""), quote_plus(sent)}:
                raw = raw.replace(value.encode(), MASK)
            for pattern in VOLATILE:
                raw = pattern.sub(MASK, raw)
            return raw

        return Answer(self.status, mask(self.body), mask(self.headers))

    @property
    def refused(self) -> bool:
        return self.status == "error" or (isinstance(self.status, int) and self.status >= 400)


def spellings(marker: str) -> set[bytes]:
    """A marker as it may appear in a response: as is, URL-encoded, lower case."""
    return {form.lower().encode() for form in (marker, quote(marker, safe=""), quote_plus(marker))}


@dataclass
class Matrix:
    """Counts and findings of one run; `leaks` must stay empty."""

    foreign: Mapping[str, str]  # the other tenant's markers: name -> marker
    own: Mapping[str, str]  # the caller's markers, to prove the caller's data is really there
    cases: int = 0
    refused: int = 0
    public: int = 0
    leaks: list[str] = field(default_factory=list)
    own_seen: set[str] = field(default_factory=set)

    def scan(self, case: str, answer: Answer, allowed: Iterable[str] = ()) -> None:
        """No marker of the other tenant (bar `allowed` names) in the answer's body or headers."""
        text = (answer.body + b"\n" + answer.headers).lower()
        skip = set(allowed)
        for name, marker in self.foreign.items():
            if name not in skip and any(form in text for form in spellings(marker)):
                self.leaks.append(
                    f"{case}: the other tenant's {name} {marker!r} in the answer ({answer.status})"
                )
        self.own_seen.update(name for name, marker in self.own.items() if marker.lower().encode() in text)

    def own_call(self, case: str, answer: Answer) -> None:
        self.cases += 1
        self.scan(case, answer)

    def probe(self, case: str, sent: str, foreign: Answer, missing: Answer, missing_value: str) -> None:
        """`foreign` answered a request for the other tenant's `sent`, `missing` the same request
        for `missing_value`, which exists nowhere."""
        self.cases += 1
        theirs, nobodys = foreign.masked(sent), missing.masked(missing_value)
        self.scan(case, theirs)
        if (theirs.status, theirs.body) != (nobodys.status, nobodys.body):
            self.leaks.append(
                f"{case}: another tenant's resource answers unlike a missing one: "
                f"{theirs.status} {theirs.body[:300]!r} vs {nobodys.status} {nobodys.body[:300]!r}"
            )
        if theirs.refused:
            self.refused += 1

    def public_probe(self, case: str, answer: Answer, allowed: Iterable[str]) -> None:
        """A public endpoint (no credential at all) asked about the other tenant: it may answer,
        with nothing beyond `allowed`."""
        self.cases += 1
        self.public += 1
        self.scan(case, answer, allowed)

    def summary(self, what: str) -> str:
        return (
            f"tenant matrix ({what}): {self.cases} cases, {self.refused} refused, "
            f"{self.public} public by design, {len(self.leaks)} leaks"
        )

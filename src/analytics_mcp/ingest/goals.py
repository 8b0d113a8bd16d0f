"""Goal matching at ingestion: url goals match pageview paths, event goals match event names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class GoalMatcher:
    goal_id: str
    event_name: str | None  # event goal
    path_pattern: re.Pattern[str] | None  # url goal

    def matches(self, name: str, pathname: str) -> bool:
        if self.event_name is not None:
            return name == self.event_name
        if name != "pageview" or self.path_pattern is None:
            return False
        return self.path_pattern.fullmatch(pathname) is not None


@lru_cache(maxsize=1024)
def path_regex(match_type: str, path: str) -> re.Pattern[str]:
    """exact: the path itself; prefix: the path and anything below it; wildcard: `*` is one
    segment (no slash), `**` any run of characters."""
    if match_type == "exact":
        return re.compile(re.escape(path))
    if match_type == "prefix":
        return re.compile(re.escape(path) + ".*", re.DOTALL)
    parts = re.split(r"(\*\*|\*)", path)
    translated = "".join({"**": ".*", "*": "[^/]*"}.get(part, re.escape(part)) for part in parts)
    return re.compile(translated, re.DOTALL)


def build_matcher(
    goal_id: str, goal_type: str, match_type: str | None, path: str | None, event: str | None
) -> GoalMatcher:
    if goal_type == "event":
        return GoalMatcher(goal_id, event, None)
    return GoalMatcher(goal_id, None, path_regex(match_type or "exact", path or "/"))

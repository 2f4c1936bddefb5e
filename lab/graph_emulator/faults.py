"""Fault injection: the next N matching requests answer 429, 503 or 504, or lose their connection.

``drop`` loses the connection before the request is carried out; ``drop_after`` carries it out
and then loses the connection before the answer is sent (a proxy or a network that fails on the
way back): the client can't know whether its write landed.

A rule: ``{"status": 429|503|504|"drop"|"drop_after", "count": N, "method": "PATCH", "path": "regex",
"retry_after": 1, "skip": 0}``; ``skip`` lets that many matching requests through first (to
fail the second step of a sequence); ``method`` and ``path`` (a regex searched in the path after /v1.0, e.g.
``^/users/``) are optional. Rules apply to /v1.0 requests (``$batch`` items included, except
``drop`` and ``drop_after``) and, when ``path`` says so, to the token endpoint (``token$``).
"""

from __future__ import annotations

import re
import threading

STATUSES = {429, 503, 504, "drop", "drop_after"}
DROPS = ("drop", "drop_after")


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules: list[dict] = []

    def add(self, rule: dict) -> dict:
        status = rule.get("status")
        if status not in STATUSES:
            raise ValueError("status: one of 429, 503, 504, \"drop\", \"drop_after\"")
        count = rule.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise ValueError("count: a positive integer")
        pattern = rule.get("path")
        if pattern is not None:
            re.compile(pattern)
        skip = rule.get("skip", 0)
        if not isinstance(skip, int) or skip < 0:
            raise ValueError("skip: a whole number, 0 or more")
        clean = {"status": status, "count": count, "method": (rule.get("method") or "").upper() or None,
                 "path": pattern, "retry_after": int(rule.get("retry_after", 1)), "skip": skip}
        with self.lock:
            self.rules.append(clean)
        return clean

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def dump(self) -> list[dict]:
        with self.lock:
            return [dict(rule) for rule in self.rules]

    def take(self, method: str, path: str, in_batch: bool = False, token: bool = False) -> dict | None:
        with self.lock:
            for rule in self.rules:
                if in_batch and rule["status"] in DROPS:
                    continue
                if token and not rule["path"]:
                    # Only a rule whose path names it reaches the token endpoint: "the next
                    # PATCH answers 503" must not be used up by a token request.
                    continue
                if rule["method"] and rule["method"] != method.upper():
                    continue
                if rule["path"] and not re.search(rule["path"], path):
                    continue
                if rule["skip"]:
                    rule["skip"] -= 1
                    return None
                rule["count"] -= 1
                if rule["count"] <= 0:
                    self.rules.remove(rule)
                return dict(rule)
        return None

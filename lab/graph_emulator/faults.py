"""Fault injection: the next N matching requests answer 429, 503 or 504, or lose their connection.

``drop`` loses the connection before the request is carried out; ``drop_after`` carries it out
and then loses the connection before the answer is sent (a proxy or a network that fails on the
way back): the client can't know whether its write landed.

A rule: ``{"status": 429|503|504|"drop"|"drop_after", "count": N, "method": "PATCH", "path": "regex",
"retry_after": 1, "skip": 0}``; ``skip`` lets that many matching requests through first (to
fail the second step of a sequence); ``every`` and ``offset`` make a storm: the rule then
takes only the matching requests whose number, counted from 0 by the rule, is ``offset`` modulo
``every`` (``every: 3`` fails a third of them), and counts every matching request even when an
earlier rule took it, so rules with one ``every`` and different offsets never overlap.
``method`` and ``path`` (a regex searched in the path after /v1.0, e.g. ``^/users/``) are optional. Rules apply to /v1.0 requests (``$batch`` items included, except
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
        every, offset = rule.get("every", 1), rule.get("offset", 0)
        if not isinstance(every, int) or every < 1 or not isinstance(offset, int) or not 0 <= offset < every:
            raise ValueError("every: a positive integer; offset: 0 up to every - 1")
        clean = {"status": status, "count": count, "method": (rule.get("method") or "").upper() or None,
                 "path": pattern, "retry_after": int(rule.get("retry_after", 1)), "skip": skip}
        if every > 1:
            clean.update(every=every, offset=offset, seen=0)
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
            taken = None
            for rule in [r for r in self.rules if "every" in r and self._matches(r, method, path, in_batch, token)]:
                number, rule["seen"] = rule["seen"], rule["seen"] + 1
                if taken is None and number % rule["every"] == rule["offset"]:
                    taken = self._use(rule)
            if taken is not None:
                return taken
            for rule in self.rules:
                if "every" in rule or not self._matches(rule, method, path, in_batch, token):
                    continue
                if rule["skip"]:
                    rule["skip"] -= 1
                    return None
                return self._use(rule)
        return None

    @staticmethod
    def _matches(rule: dict, method: str, path: str, in_batch: bool, token: bool) -> bool:
        if in_batch and rule["status"] in DROPS:
            return False
        if token and not rule["path"]:
            # Only a rule whose path names it reaches the token endpoint: "the next
            # PATCH answers 503" must not be used up by a token request.
            return False
        if rule["method"] and rule["method"] != method.upper():
            return False
        return not (rule["path"] and not re.search(rule["path"], path))

    def _use(self, rule: dict) -> dict:
        rule["count"] -= 1
        if rule["count"] <= 0:
            self.rules.remove(rule)
        return dict(rule)

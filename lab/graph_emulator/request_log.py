"""The request log behind ``/_lab/requests``: method, path, query, status, app, resource units,
and the body of every write, a password in it shown as ``********``. Kept in memory (the newest
50,000)."""

from __future__ import annotations

import collections
import itertools
import threading
import time


class RequestLog:
    def __init__(self, size: int = 50000):
        self.lock = threading.Lock()
        self.entries: collections.deque = collections.deque(maxlen=size)
        self.counter = itertools.count(1)

    def add(self, method: str, path: str, query: str, status: int, body=None, **extra) -> dict:
        entry = {"seq": next(self.counter), "time": time.time(), "method": method, "path": path,
                 "query": query, "status": status}
        if method.upper() in ("POST", "PATCH", "PUT", "DELETE") and body is not None:
            entry["body"] = _without_passwords(body)
        entry.update({k: v for k, v in extra.items() if v is not None})
        with self.lock:
            self.entries.append(entry)
        return entry

    def since(self, seq: int = 0) -> list[dict]:
        with self.lock:
            return [dict(e) for e in self.entries if e["seq"] > seq]

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def _without_passwords(body):
    if isinstance(body, dict):
        return {k: "********" if k == "password" and v else _without_passwords(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_without_passwords(v) for v in body]
    return body

"""Requests, responses and the route table of the /v1.0 surface.

Resource modules register handlers with ``@route(method, pattern, permissions)``; a pattern is
a regex over the path after ``/v1.0`` with named groups, e.g. ``r"/users/(?P<key>[^/]+)"``.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse


@dataclasses.dataclass
class Request:
    method: str
    path: str                      # after /v1.0, without the query, '//' collapsed
    query_items: list              # [(name, value)] as sent
    headers: dict                  # lower-case names
    body: object = None            # parsed JSON (or None)
    base: str = ""                 # https://host:port as the client addressed us
    claims: dict = dataclasses.field(default_factory=dict)
    in_batch: bool = False

    @property
    def query(self) -> dict:
        return dict(self.query_items)

    @property
    def raw_query(self) -> str:
        return urllib.parse.urlencode(self.query_items)


@dataclasses.dataclass
class Response:
    status: int
    body: object = None            # dict → JSON, str → text/plain, None → empty
    headers: dict = dataclasses.field(default_factory=dict)
    drop: bool = False             # fault injection: close the connection without answering


@dataclasses.dataclass
class Route:
    method: str
    pattern: re.Pattern
    handler: object
    permissions: frozenset


ROUTES: list[Route] = []


def route(method: str, pattern: str, permissions):
    def register(handler):
        ROUTES.append(Route(method, re.compile("^" + pattern + "$", re.IGNORECASE), handler, frozenset(permissions)))
        return handler
    return register


def match(method: str, path: str):
    """(route, groups) for the request; (None, 'method') when the path exists for another
    method; (None, segment) with the first unknown segment otherwise."""
    method_mismatch = False
    for candidate in ROUTES:
        found = candidate.pattern.match(path)
        if found:
            if candidate.method == method:
                # Graph decodes each path segment: /users/bob%40contoso.com is bob@contoso.com.
                # Decoding after matching keeps an encoded '/' inside its segment.
                return candidate, {k: v if v is None else urllib.parse.unquote(v) for k, v in found.groupdict().items()}
            method_mismatch = True
    if method_mismatch:
        return None, "method"
    segments = [s for s in path.split("/") if s]
    for depth in range(len(segments), 0, -1):
        prefix = "/" + "/".join(segments[:depth - 1])
        if depth == 1 or any(r.pattern.match(prefix) for r in ROUTES):
            return None, segments[depth - 1]
    return None, segments[0] if segments else ""

"""Identity and access throttling, from "Microsoft Graph service-specific throttling limits"
(section "Identity and access service limits").

Per application+tenant pair: 3,500 / 5,000 / 8,000 resource units per 10 s for a tenant of
S (< 50 users) / M (50–500) / L (> 500), and 3,000 writes per 150 s; per tenant, 18,000 writes
per 5 minutes. Base costs: GET ``users`` 2, GET ``users/{id}/licenseDetails`` and ``memberOf`` 2,
any other GET 1, POST/PATCH/PUT/DELETE 1 unit and 1 write; ``$select`` −1, ``$expand`` +1,
``$top`` below 20 −1; never below 1. Every response carries ``x-ms-resource-unit``; a throttled
one is a 429 with ``Retry-After``, ``x-ms-throttle-scope`` (``<Scope>/<Limit>/<AppId>/<TenantId>``)
and ``x-ms-throttle-information``. Windows slide; a refused request costs nothing.
"""

from __future__ import annotations

import collections
import math
import re
import threading
import time

RESOURCE_UNITS = {"S": 3500, "M": 5000, "L": 8000}
RU_WINDOW = 10.0
APP_WRITES, APP_WRITE_WINDOW = 3000, 150.0
TENANT_WRITES, TENANT_WRITE_WINDOW = 18000, 300.0

_TWO_UNIT_GETS = (re.compile(r"^/users$"), re.compile(r"^/users/[^/]+/(licenseDetails|memberOf|transitiveMemberOf|ownedObjects)$"),
                  re.compile(r"^/oauth2PermissionGrants(/[^/]+)?$"), re.compile(r"^/applications$"))


def request_cost(method: str, path: str, query: dict) -> tuple[int, int]:
    """(resource units, writes) of one request; ``path`` is relative to /v1.0."""
    method = method.upper()
    if method == "GET":
        cost = 2 if any(p.match(path) for p in _TWO_UNIT_GETS) else 1
        writes = 0
    else:
        cost, writes = 1, 1
    if "$select" in query:
        cost -= 1
    if "$expand" in query:
        cost += 1
    top = query.get("$top")
    if top is not None and str(top).isdigit() and int(top) < 20:
        cost -= 1
    return max(cost, 1), writes


class _Window:
    def __init__(self):
        self.events: collections.deque = collections.deque()
        self.total = 0

    def used(self, now: float, span: float) -> int:
        while self.events and self.events[0][0] <= now - span:
            self.total -= self.events.popleft()[1]
        return self.total

    def wait(self, now: float, span: float, limit: float, cost: int) -> float:
        """Seconds until ``cost`` more fits under ``limit``."""
        excess = self.total + cost - limit
        for stamp, amount in self.events:
            excess -= amount
            if excess <= 0:
                return max(stamp + span - now, 0.0)
        return span

    def add(self, now: float, cost: int) -> None:
        self.events.append((now, cost))
        self.total += cost


class Throttle:
    def __init__(self, settings):
        self.settings = settings
        self.lock = threading.Lock()
        self.windows: dict = collections.defaultdict(_Window)

    def reset(self) -> None:
        with self.lock:
            self.windows.clear()

    def admit(self, app_id: str, tenant_id: str, size: str, units: int, writes: int):
        """None when admitted (and counted); else (retry_after, scope, information)."""
        if not self.settings.throttling:
            return None
        scale_t, scale_q = self.settings.time_scale, self.settings.quota_scale
        checks = [(("ru", app_id, tenant_id), RU_WINDOW * scale_t, max(RESOURCE_UNITS[size] * scale_q, 1), units,
                   "Tenant_Application/ReadWrite/%s/%s" % (app_id, tenant_id), "ResourceUnitLimitExceeded")]
        if writes:
            checks.append((("w", app_id, tenant_id), APP_WRITE_WINDOW * scale_t, max(APP_WRITES * scale_q, 1), writes,
                           "Tenant_Application/Write/%s/%s" % (app_id, tenant_id), "WriteLimitExceeded"))
            checks.append((("tw", tenant_id), TENANT_WRITE_WINDOW * scale_t, max(TENANT_WRITES * scale_q, 1), writes,
                           "Tenant/Write/%s/%s" % (app_id, tenant_id), "WriteLimitExceeded"))
        now = time.monotonic()
        with self.lock:
            # Every exceeded limit is weighed, and the longest wait answers: a client that waits
            # Retry-After once then gets in (when nothing else is sent meanwhile).
            refusals = []
            for key, span, limit, cost, scope, information in checks:
                window = self.windows[key]
                if window.used(now, span) + cost > limit:
                    refusals.append((window.wait(now, span, limit, cost), scope, information))
            if refusals:
                wait, scope, information = max(refusals, key=lambda refusal: refusal[0])
                return max(1, math.ceil(wait)), scope, information
            for key, span, _limit, cost, _scope, _information in checks:
                self.windows[key].add(now, cost)
        return None


class RateLimit:
    """A plain request-count limit, e.g. provisionOnDemand's 5 requests per 10 s."""

    def __init__(self, settings, limit: int, window: float):
        self.settings, self.limit, self.window = settings, limit, window
        self.lock = threading.Lock()
        self.windows: dict = collections.defaultdict(_Window)

    def admit(self, key) -> int | None:
        if not self.settings.throttling:
            return None
        span = self.window * self.settings.time_scale
        now = time.monotonic()
        with self.lock:
            window = self.windows[key]
            if window.used(now, span) + 1 > self.limit:
                return max(1, math.ceil(window.wait(now, span, self.limit, 1)))
            window.add(now, 1)
        return None

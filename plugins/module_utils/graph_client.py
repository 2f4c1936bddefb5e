# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A thin Microsoft Graph v1.0 client on httpx.

Why not msgraph-sdk: see README ("Graph transport").  What Graph documents and this honours:

* Throttling ("Microsoft Graph throttling guidance", "Identity and access service limits"):
  429 (and 503/504) carry ``Retry-After`` seconds; wait that long and retry, within an overall
  deadline.  Writes to users are limited to 3,000 per 150 s per app and tenant, so writes are
  paced under that quota instead of being sent until refused.
* ``$batch`` takes at most 20 requests; each item is throttled and answered on its own.
* Advanced queries (``$count``, ``onPremisesImmutableId eq``, ``endsWith``) need the header
  ``ConsistencyLevel: eventual``, on every page of the result, ``@odata.nextLink`` included.
* Errors are ``{"error": {"code", "message", "innerError": {"request-id"}}}``.
* The directory is eventually consistent: an object just written can be missing for a few
  seconds (a user just deleted is not yet in the recycle bin).  A caller that knows this names
  the statuses to wait out and how long, with ``retry_on`` (see ``RetryOn``).

No Ansible imports: the module base turns ``GraphError`` into a failed task.
"""

import collections
import json
import time

from ansible_collections.syncfix.entra.plugins.module_utils._errors import SyncfixError

try:
    import httpx
except ImportError:  # reported by the module base with the package name and install hint
    httpx = None

API_VERSION = "v1.0"
BATCH_LIMIT = 20
RETRY_STATUSES = (429, 503, 504)
# A dropped or refused connection is retried a few times only: a wrong endpoint or a dead
# proxy should fail in seconds, not wait out the throttling deadline.
TRANSPORT_RETRIES = 3
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
# Transport errors raised before a byte of the request left: safe to send again.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) if httpx else ()
# "Identity and access service limits": 3,000 writes per 150 s per app per tenant.
DEFAULT_WRITE_QUOTA = (3000, 150.0)


class GraphError(SyncfixError):
    """A Graph request that failed, with everything needed to act on it."""

    kind = "graph"

    def __init__(self, status, code, message, request_id=None, operation=None, target=None):
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.operation = operation
        self.target = target
        super(GraphError, self).__init__(self.describe())

    def describe(self):
        where = " ".join(p for p in (self.operation, self.target) if p)
        if self.status is None:
            return ("%s: no answer from Microsoft Graph (%s: %s); check graph_endpoint, graph_ca_path (ca_path), the "
                    "proxy and the network" % (where or "Graph request", self.code, self.message))
        text = "%s: Graph answered %s %s: %s" % (where or "Graph request", self.status, self.code, self.message)
        if self.request_id:
            text += " (request-id %s)" % self.request_id
        return text

    def details(self):
        return {"kind": self.kind, "message": self.describe(), "status": self.status, "code": self.code,
                "request_id": self.request_id, "operation": self.operation, "target": self.target}

    @classmethod
    def from_response(cls, status, body, headers=None, operation=None, target=None):
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        inner = error.get("innerError") or error.get("innererror") or {}
        request_id = (headers or {}).get("request-id") or inner.get("request-id")
        return cls(status, error.get("code") or "UnknownError", error.get("message") or "(no message)",
                   request_id, operation, target)


class OutcomeUnknown(GraphError):
    """A write whose answer was lost after it was sent: it may or may not have landed."""

    def describe(self):
        where = " ".join(p for p in (self.operation, self.target) if p)
        return "%s: %s" % (where or "Graph write", self.message)


class NotWritten(OutcomeUnknown):
    """A write that failed, and reading the object back shows it did not land."""


class RetryOn(collections.namedtuple("RetryOn", "statuses waits")):
    """Statuses a request retries beyond throttling, after waiting each of ``waits`` seconds in
    turn; once the waits are spent the last answer fails as usual."""

    __slots__ = ()


class WritePacer:
    """Spread writes so that no window of ``period`` seconds holds more than ``limit``."""

    def __init__(self, limit, period, clock=time.monotonic, sleep=time.sleep):
        self.limit = limit
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._sent = collections.deque()

    def acquire(self, count=1):
        for dummy in range(count):
            now = self._clock()
            while self._sent and self._sent[0] <= now - self.period:
                self._sent.popleft()
            if len(self._sent) >= self.limit:
                self._sleep(self._sent[0] + self.period - now)
                now = self._clock()
                self._sent.popleft()
            self._sent.append(now)


class GraphClient:
    """Requests to one Graph endpoint with one token provider.

    ``deadline`` bounds the total time spent waiting on throttling for one call; a call that
    would need longer fails with the last 429 rather than hanging a playbook.
    """

    def __init__(self, endpoint, token, verify=True, timeout=30.0, deadline=300.0,
                 write_quota=DEFAULT_WRITE_QUOTA, transport=None, clock=time.monotonic, sleep=time.sleep):
        self.base = endpoint.rstrip("/") + "/" + API_VERSION
        self._token = token
        self._clock = clock
        self._sleep = sleep
        self.deadline = deadline
        self.pacer = WritePacer(write_quota[0], write_quota[1], clock=clock, sleep=sleep)
        self.stats = collections.Counter()
        self._http = httpx.Client(verify=verify, timeout=timeout, transport=transport,
                                  headers={"Accept": "application/json"})

    def close(self):
        self._http.close()

    # -- single requests ------------------------------------------------------------------

    def request(self, method, path, params=None, body=None, headers=None, operation=None, target=None, pace=None,
                retry_on=None, idempotent=None):
        """Send one request, retrying throttling within the deadline; returns the JSON body or None.

        Writes are paced unless ``pace`` is false (a ``$batch`` envelope paces its items).
        ``retry_on`` (a ``RetryOn``) also retries those statuses, after its waits, one by one.
        A write (``idempotent`` false; by default any method but GET) is sent again after a
        lost connection only when it never left: once sent, its outcome is unknown, and sending
        it again would write twice or misread the second answer (a 404 for a DELETE that
        landed), so it fails with OutcomeUnknown and the caller reads the object to decide.
        """
        pace = method in WRITE_METHODS if pace is None else pace
        idempotent = method not in WRITE_METHODS if idempotent is None else idempotent
        url = path if path.startswith("https://") or path.startswith("http://") else self.base + path
        send_headers = dict(headers or {})
        content = None
        if body is not None:
            content = json.dumps(body)
            send_headers["Content-Type"] = "application/json"
        give_up_at = self._clock() + self.deadline
        attempt = transport_failures = 0
        extra_statuses, extra_waits = (retry_on.statuses, list(retry_on.waits)) if retry_on else ((), [])
        while True:
            if pace:
                self.pacer.acquire()
            send_headers["Authorization"] = "Bearer " + self._token.get()
            self.stats["requests"] += 1
            try:
                response = self._http.request(method, url, params=params, content=content, headers=send_headers)
            except httpx.TransportError as e:
                if not idempotent and not isinstance(e, NOT_SENT):
                    self.stats["transport_errors"] += 1
                    raise OutcomeUnknown(None, "OutcomeUnknown", "the connection was lost after the request was sent "
                                         "(%s: %s); whether Graph carried it out is unknown" % (
                                             type(e).__name__, e or "no answer"), None, operation or method,
                                         target or path)
                wait = min(2 ** attempt, 30)
                transport_failures += 1
                self.stats["transport_errors"] += 1
                if transport_failures > TRANSPORT_RETRIES or self._clock() + wait > give_up_at:
                    raise GraphError(None, type(e).__name__, str(e) or "connection failed", None,
                                     operation or method, target or url)
                self.stats["retries"] += 1
                attempt += 1
                self._sleep(wait)
                continue
            if response.status_code in RETRY_STATUSES:
                wait = retry_after(response.headers, attempt)
                if self._clock() + wait <= give_up_at:
                    self.stats["throttled" if response.status_code == 429 else "retries"] += 1
                    attempt += 1
                    self._sleep(wait)
                    continue
            if response.status_code in extra_statuses and extra_waits:
                self.stats["retries"] += 1
                self._sleep(extra_waits.pop(0))
                continue
            if response.status_code >= 400:
                raise GraphError.from_response(response.status_code, _json(response), response.headers,
                                               operation or method, target or path)
            return _json(response) if response.content else None

    def get(self, path, params=None, advanced=False, **context):
        return self.request("GET", path, params=params, headers=_advanced(advanced), **context)

    def iterate(self, path, params=None, advanced=False, **context):
        """Every item of a collection, following ``@odata.nextLink`` with the same headers."""
        page = self.get(path, params=params, advanced=advanced, **context)
        while True:
            yield from page.get("value", [])
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return
            page = self.get(next_link, advanced=advanced, **context)

    # -- $batch ---------------------------------------------------------------------------

    def batch(self, requests):
        """Send requests through ``$batch``, 20 at a time; returns responses in request order.

        ``requests`` are dicts with ``method``, ``url`` (relative to /v1.0), optional ``body``
        and ``headers``.  Each response is ``{"status", "headers", "body"}``.  Items answered
        429/503/504 go back to the head of the queue and nothing more is sent until their
        ``Retry-After`` has passed: the quota is the app's, so sending the other chunks
        meanwhile would only collect more 429s.  Past the deadline the last answer stays.
        """
        responses = [None] * len(requests)
        queue = collections.deque(range(len(requests)))
        give_up_at = self._clock() + self.deadline
        attempt = 0
        while queue:
            chunk = [queue.popleft() for dummy in range(min(BATCH_LIMIT, len(queue)))]
            writes = sum(1 for i in chunk if requests[i]["method"].upper() in WRITE_METHODS)
            if writes:
                self.pacer.acquire(writes)
            payload = {"requests": [_batch_item(str(i), requests[i]) for i in chunk]}
            self.stats["batch_items"] += len(chunk)
            answer = self.request("POST", "/$batch", body=payload, operation="$batch", pace=False,
                                  idempotent=not writes) or {}
            retry, wait = [], 0.0
            for item in answer.get("responses", []):
                index = int(item["id"])
                status = int(item.get("status", 0))
                item_headers = dict((k.lower(), v) for k, v in (item.get("headers") or {}).items())
                if status in RETRY_STATUSES:
                    retry.append(index)
                    wait = max(wait, retry_after(item_headers, attempt))
                    self.stats["throttled" if status == 429 else "retries"] += 1
                responses[index] = {"status": status, "headers": item_headers, "body": item.get("body")}
            if not retry:
                attempt = 0
            elif self._clock() + wait <= give_up_at:
                attempt += 1
                self._sleep(wait)
                queue.extendleft(sorted(retry, reverse=True))
        return responses


def retry_after(headers, attempt):
    """Seconds to wait: ``Retry-After`` when Graph sends it, else exponential back-off."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return float(min(2 ** attempt, 30))


def _advanced(advanced):
    return {"ConsistencyLevel": "eventual"} if advanced else None


def _batch_item(request_id, request):
    item = {"id": request_id, "method": request["method"].upper(), "url": request["url"]}
    headers = dict(request.get("headers") or {})
    if request.get("body") is not None:
        item["body"] = request["body"]
        headers.setdefault("Content-Type", "application/json")
    if headers:
        item["headers"] = headers
    return item


def _json(response):
    try:
        return response.json()
    except ValueError:
        return {"error": {"code": "NonJsonResponse", "message": response.text[:500]}}

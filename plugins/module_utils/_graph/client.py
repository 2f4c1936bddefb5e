# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A thin Microsoft Graph v1.0 client on httpx.

Why not msgraph-sdk: see README ("Graph transport").  What Graph documents and this honours:

* Throttling ("Microsoft Graph throttling guidance", "Identity and access service limits"):
  429 (and 503/504) carry ``Retry-After`` seconds; wait that long and retry, within an overall
  deadline.  Writes to users are limited to 3,000 per 150 s per app and tenant, so writes are
  paced under that quota instead of being sent until refused.
* ``$batch`` takes at most 20 requests; each item is throttled and answered on its own.  The
  quota is the app's in the tenant, not a connection's, so read-only envelopes are sent a few at
  once (``READ_BATCHES_IN_FLIGHT``) and writes one after another, paced.
* Advanced queries (``$count``, ``onPremisesImmutableId eq``, ``endsWith``) need the header
  ``ConsistencyLevel: eventual``, on every page of the result, ``@odata.nextLink`` included.
* Errors are ``{"error": {"code", "message", "innerError": {"request-id"}}}``.
* An absolute URL Graph hands back (``@odata.nextLink``, also inside ``$batch`` answers) is
  followed with the bearer token, so it is followed only when it has ``graph_endpoint``'s
  origin (https, same host and port); anything else fails the read with ``ForeignLink`` and
  the token is not sent ("Paging Microsoft Graph data in your app": the next link points back
  at the same service).
* The directory is eventually consistent: an object just written can be missing for a few
  seconds (a user just deleted is not yet in the recycle bin); the caller that knows this
  waits it out (``_backends.entra_user_purge_batch``).

No Ansible imports: the module base turns ``GraphError`` into a failed task.
"""

import collections
import json
import threading
import time

from concurrent import futures
from urllib.parse import urlsplit

from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import SyncfixError

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
# Read-only $batch envelopes in flight at once.  The identity quota counts resource units per
# 10 s per app and tenant ("Identity and access service limits"), not per connection, so
# overlapping buys no quota: it hides round trips, and a few envelopes already hide most of
# them.  The bound is what running into the quota costs: whatever is in flight when Graph starts
# answering 429 comes back throttled and waits out Retry-After, so no more than 4 x 20 reads are
# sent past that moment.  Writes never overlap: they are paced one envelope after another.
READ_BATCHES_IN_FLIGHT = 4


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


def origin(url):
    """(scheme, host, port) of an absolute URL, lower-cased, the scheme's default port filled in;
    None when ``url`` has no scheme or host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number
        return None
    scheme = (parts.scheme or "").lower()
    if not scheme or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or {"https": 443, "http": 80}.get(scheme)


def foreign_link_problem(url, endpoint):
    """Why the absolute ``url`` must not get ``endpoint``'s bearer token, or None when it may:
    only an https URL with the endpoint's own origin may."""
    own = origin(endpoint)
    theirs = origin(url)
    if theirs is None:
        return "it is not an absolute URL with a host"
    if theirs[0] != "https":
        return "it is not https (the access token would cross the network in clear text)"
    if theirs != own:
        return "its origin %s://%s:%s is not graph_endpoint's (%s://%s:%s)" % (theirs + own)
    return None


class RefusedRequest(GraphError):
    """A request this client refuses to send (nothing left the machine); the message says why."""

    def describe(self):
        where = " ".join(p for p in (self.operation, self.target) if p)
        return "%s: %s" % (where or "Graph request", self.message)


class OutcomeUnknown(GraphError):
    """A write whose answer was lost after it was sent: it may or may not have landed."""

    def describe(self):
        where = " ".join(p for p in (self.operation, self.target) if p)
        return "%s: %s" % (where or "Graph write", self.message)


class NotWritten(OutcomeUnknown):
    """A write that failed, and reading the object back shows it did not land."""


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
        self.endpoint = endpoint.rstrip("/")
        self.base = self.endpoint + "/" + API_VERSION
        self._token = token
        self._clock = clock
        self._sleep = sleep
        self.deadline = deadline
        self.pacer = WritePacer(write_quota[0], write_quota[1], clock=clock, sleep=sleep)
        self.stats = collections.Counter()
        # Read envelopes run on worker threads: the counters, the token and the pause after a
        # throttled answer are shared, each behind its lock (httpx.Client is thread-safe).
        self._stats_lock = threading.Lock()
        self._token_lock = threading.Lock()
        self._quiet_lock = threading.Lock()
        self._quiet_until = float("-inf")
        self._http = httpx.Client(verify=verify, timeout=timeout, transport=transport,
                                  headers={"Accept": "application/json"})

    def close(self):
        self._http.close()

    def _count(self, name, amount=1):
        with self._stats_lock:
            self.stats[name] += amount

    def _bearer(self):
        # One token for every thread: a provider that refreshes near expiry (graph_auth's
        # CredentialToken) is asked by one thread at a time, so it never fetches two at once.
        with self._token_lock:
            return "Bearer " + self._token.get()

    def _keep_quiet(self, seconds):
        """Send no new envelope for ``seconds``: Graph said Retry-After to this app."""
        with self._quiet_lock:
            self._quiet_until = max(self._quiet_until, self._clock() + seconds)

    def _quiet_for(self):
        with self._quiet_lock:
            return self._quiet_until - self._clock()

    # -- single requests ------------------------------------------------------------------

    def request(self, method, path, params=None, body=None, headers=None, operation=None, target=None, pace=None,
                idempotent=None):
        """Send one request, retrying throttling within the deadline; returns the JSON body or None.

        Writes are paced unless ``pace`` is false (a ``$batch`` envelope paces its items).
        A write (``idempotent`` false; by default any method but GET) is sent again after a
        lost connection only when it never left: once sent, its outcome is unknown, and sending
        it again would write twice or misread the second answer (a 404 for a DELETE that
        landed), so it fails with OutcomeUnknown and the caller reads the object to decide.
        """
        pace = method in WRITE_METHODS if pace is None else pace
        idempotent = method not in WRITE_METHODS if idempotent is None else idempotent
        url = self._url(path, operation or method, target)
        send_headers = dict(headers or {})
        content = None
        if body is not None:
            content = json.dumps(body)
            send_headers["Content-Type"] = "application/json"
        give_up_at = self._clock() + self.deadline
        attempt = transport_failures = 0
        while True:
            if pace:
                self.pacer.acquire()
            send_headers["Authorization"] = self._bearer()
            self._count("requests")
            try:
                response = self._http.request(method, url, params=params, content=content, headers=send_headers)
            except httpx.TransportError as e:
                if not idempotent and not isinstance(e, NOT_SENT):
                    self._count("transport_errors")
                    raise OutcomeUnknown(None, "OutcomeUnknown", "the connection was lost after the request was sent "
                                         "(%s: %s); whether Graph carried it out is unknown" % (
                                             type(e).__name__, e or "no answer"), None, operation or method,
                                         target or path)
                wait = min(2 ** attempt, 30)
                transport_failures += 1
                self._count("transport_errors")
                if transport_failures > TRANSPORT_RETRIES or self._clock() + wait > give_up_at:
                    raise GraphError(None, type(e).__name__, str(e) or "connection failed", None,
                                     operation or method, target or url)
                self._count("retries")
                attempt += 1
                self._sleep(wait)
                continue
            if response.status_code in RETRY_STATUSES:
                wait = retry_after(response.headers, attempt)
                if self._clock() + wait <= give_up_at:
                    self._count("throttled" if response.status_code == 429 else "retries")
                    self._keep_quiet(wait)
                    attempt += 1
                    self._sleep(wait)
                    continue
            if response.status_code >= 400:
                raise GraphError.from_response(response.status_code, _json(response), response.headers,
                                               operation or method, target or path)
            return _json(response) if response.content else None

    def _url(self, path, operation=None, target=None):
        """The URL to send ``path`` to: relative paths under /v1.0; an absolute URL (a next link
        Graph handed back) only on graph_endpoint's origin, else GraphError before anything is sent."""
        if not _is_absolute(path):
            return self.base + path
        problem = foreign_link_problem(path, self.endpoint)
        if problem:
            raise RefusedRequest(None, "ForeignLink",
                                 "refused to follow %s: %s; the bearer token goes to graph_endpoint %s only. If Graph "
                                 "really answers on that host, set graph_endpoint to it" % (path, problem, self.endpoint),
                                 None, operation, target)
        return path

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

        Reads only, more than one envelope: up to ``READ_BATCHES_IN_FLIGHT`` envelopes at once.
        Any write among them: one envelope after another, its writes paced, in request order.
        """
        for request in requests:
            if _is_absolute(request["url"]):
                # "Combine multiple HTTP requests using JSON batching": an item's url is relative
                # to the version; an absolute one (a next link put in a batch) is refused before
                # any envelope is sent, not handed to Graph to resolve.
                raise RefusedRequest(None, "AbsoluteBatchUrl", "a $batch item needs a URL relative to /%s, got %s; "
                                     "read a next link with a plain GET" % (API_VERSION, request["url"]), None,
                                     "$batch", request["url"])
        responses = [None] * len(requests)
        writes = any(r["method"].upper() in WRITE_METHODS for r in requests)
        if writes or len(requests) <= BATCH_LIMIT:
            self._batch_in_turn(requests, responses)
        else:
            self._batch_overlapped(requests, responses)
        return responses

    def _batch_in_turn(self, requests, responses):
        queue = collections.deque(range(len(requests)))
        give_up_at = self._clock() + self.deadline
        attempt = 0
        while queue:
            quiet = self._quiet_for()
            if quiet > 0:
                self._sleep(quiet)
            chunk = [queue.popleft() for dummy in range(min(BATCH_LIMIT, len(queue)))]
            writes = sum(1 for i in chunk if requests[i]["method"].upper() in WRITE_METHODS)
            if writes:
                self.pacer.acquire(writes)
            retry, wait_s = self._settle(self._send_envelope(requests, chunk, writes), responses, attempt)
            attempt = self._requeue(queue, retry, wait_s, give_up_at, attempt)

    def _batch_overlapped(self, requests, responses):
        """Read envelopes on a small pool; a throttled answer holds back new envelopes (those in
        flight finish) until its Retry-After has passed, its items first in the queue."""
        queue = collections.deque(range(len(requests)))
        give_up_at = self._clock() + self.deadline
        attempt = 0
        in_flight = set()
        with futures.ThreadPoolExecutor(max_workers=READ_BATCHES_IN_FLIGHT) as pool:
            while queue or in_flight:
                quiet = self._quiet_for()
                if queue and len(in_flight) < READ_BATCHES_IN_FLIGHT and quiet <= 0:
                    chunk = [queue.popleft() for dummy in range(min(BATCH_LIMIT, len(queue)))]
                    in_flight.add(pool.submit(self._send_envelope, requests, chunk, 0))
                    continue
                if not in_flight:
                    self._sleep(quiet)
                    continue
                done, dummy = futures.wait(in_flight, return_when=futures.FIRST_COMPLETED)
                for envelope in done:
                    in_flight.discard(envelope)
                    retry, wait_s = self._settle(envelope.result(), responses, attempt)
                    attempt = self._requeue(queue, retry, wait_s, give_up_at, attempt)

    def _requeue(self, queue, retry, wait_s, give_up_at, attempt):
        """Throttled items back to the head of the queue, and nothing sent before their
        Retry-After; past the deadline they keep their 429.  Returns the attempt count: the
        back-off when Graph sends no Retry-After grows with it."""
        if not retry:
            return 0
        if self._clock() + wait_s > give_up_at:
            return attempt
        self._keep_quiet(wait_s)
        queue.extendleft(sorted(retry, reverse=True))
        return attempt + 1

    def _send_envelope(self, requests, chunk, writes):
        payload = {"requests": [_batch_item(str(i), requests[i]) for i in chunk]}
        self._count("batch_items", len(chunk))
        return self.request("POST", "/$batch", body=payload, operation="$batch", pace=False,
                            idempotent=not writes) or {}

    def _settle(self, answer, responses, attempt):
        """Record an envelope's answers; returns (the indices to send again, seconds to wait first)."""
        retry, wait_s = [], 0.0
        for item in answer.get("responses", []):
            index = int(item["id"])
            status = int(item.get("status", 0))
            item_headers = dict((k.lower(), v) for k, v in (item.get("headers") or {}).items())
            if status in RETRY_STATUSES:
                retry.append(index)
                wait_s = max(wait_s, retry_after(item_headers, attempt))
                self._count("throttled" if status == 429 else "retries")
            responses[index] = {"status": status, "headers": item_headers, "body": item.get("body")}
        return retry, wait_s


def retry_after(headers, attempt):
    """Seconds to wait: ``Retry-After`` when Graph sends it, else exponential back-off."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return float(min(2 ** attempt, 30))


def _advanced(advanced):
    return {"ConsistencyLevel": "eventual"} if advanced else None


def _is_absolute(path):
    return "://" in path.split("?", 1)[0]


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

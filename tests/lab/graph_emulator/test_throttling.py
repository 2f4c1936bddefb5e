"""Throttling, resource units and injected faults, seen from a client.

Source: "Microsoft Graph service-specific throttling limits", identity and access section
(DESIGN.md "Graph"): 3,000 writes per 150 s per app+tenant, resource units per 10 s by tenant
size, costs ``GET /users`` 2, other GETs 1, ``$select`` -1, ``$expand`` +1, writes 1; a 429
carries ``Retry-After`` and ``x-ms-throttle-scope``; ``$batch`` items are counted one by one.
The lab scales windows and quotas through ``/_lab/config`` so a burst meets the limits in
seconds, not minutes.
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import ssl
import threading
import time
import uuid

import httpx
import pytest

ALICE = "aaaaaaaa-0000-4000-8000-000000000001"
BOB = "aaaaaaaa-0000-4000-8000-000000000002"
JSON = {"Content-Type": "application/json"}


def anchor(n: int) -> str:
    # The sourceAnchor form: base64 of a GUID's bytes_le; distinct per user.
    return base64.b64encode(uuid.uuid5(uuid.NAMESPACE_URL, "throttle-%d" % n).bytes_le).decode()


def load_users(lab, count: int, prefix: str) -> list[dict]:
    extra = [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "%s-%d" % (prefix, n))),
              "userPrincipalName": "%s%03d@contoso.com" % (prefix, n), "displayName": "%s %03d" % (prefix, n)}
             for n in range(count)]
    state = lab.lab("GET", "/state").json()
    state["users"] += extra
    answer = lab.lab("PUT", "/state", json=state)
    assert answer.status_code == 200, answer.text
    return extra


def configure(lab, **settings) -> None:
    answer = lab.lab("PATCH", "/config", json=settings)
    assert answer.status_code == 200, answer.text


class HonestClient:
    """Sends each request until it gets an answer other than 429/503, sleeping Retry-After in
    between, and records every refusal it saw."""

    RETRYABLE = {429, 503}

    def __init__(self, lab, concurrency: int):
        self.endpoint = lab.endpoint + "/v1.0"
        self.headers = {"Authorization": "Bearer " + lab.token()}
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=lab.ca), timeout=30,
                                 limits=httpx.Limits(max_connections=concurrency))
        self.concurrency = concurrency
        self.lock = threading.Lock()
        self.refusals: list[dict] = []

    def send(self, method: str, path: str, **kwargs) -> httpx.Response:
        for _attempt in range(20):
            answer = self.http.request(method, self.endpoint + path, headers=self.headers, **kwargs)
            if answer.status_code not in self.RETRYABLE:
                return answer
            with self.lock:
                self.refusals.append({"status": answer.status_code, "path": path, "at": time.time(),
                                      "retry_after": answer.headers.get("Retry-After"),
                                      "scope": answer.headers.get("x-ms-throttle-scope")})
            time.sleep(int(answer.headers["Retry-After"]))
        raise AssertionError("still refused after 20 attempts: %s %s" % (method, path))

    def send_all(self, jobs) -> list[httpx.Response]:
        with concurrent.futures.ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(lambda job: self.send(*job[:2], **job[2]), jobs))

    def close(self):
        self.http.close()


# --- the acceptance test -----------------------------------------------------------

def test_burst_of_300_patches_is_throttled_and_every_update_lands_once(lab):
    users = load_users(lab, 300, "burst")
    # 0.05 x 3,000 writes = 150 writes per 0.01 x 150 s = 1.5 s: two windows' worth of writes,
    # so the burst must meet 429s, and the whole run stays within a few seconds.
    configure(lab, quota_scale=0.05, time_scale=0.01)
    lab.lab("DELETE", "/requests")
    client = HonestClient(lab, concurrency=20)
    started = time.monotonic()
    try:
        answers = client.send_all([("PATCH", "/users/" + user["id"], {"json": {"onPremisesImmutableId": anchor(n)}})
                                   for n, user in enumerate(users)])
    finally:
        client.close()
    elapsed = time.monotonic() - started

    assert [a.status_code for a in answers] == [204] * 300
    throttled = [r for r in client.refusals if r["status"] == 429]
    assert throttled, "the scaled quota was never hit, so this test proves nothing"
    assert all(int(r["retry_after"]) >= 1 for r in throttled)
    assert {r["scope"].rsplit("/", 2)[0] for r in throttled} == {"Tenant_Application/Write"}
    assert elapsed < 20

    state = {u["id"]: u for u in lab.lab("GET", "/state").json()["users"]}
    assert [state[user["id"]].get("onPremisesImmutableId") for user in users] == [anchor(n) for n in range(300)]

    log = [e for e in lab.lab("GET", "/requests").json()["value"] if e["method"] == "PATCH"]
    applied = [e for e in log if 200 <= e["status"] < 300]
    assert len(applied) == 300
    assert collections.Counter(e["path"] for e in applied) == collections.Counter("/users/" + u["id"] for u in users)
    # Every 429 the client saw is one the emulator logged, and nothing else was refused.
    assert sorted(e["status"] for e in log if e["status"] >= 300) == [429] * len(throttled)
    # The emulator held the quota: no 1.4 s stretch of the log (1.5 s window, less slack for
    # the time between admission and logging) holds more than 150 applied writes.
    stamps = sorted(e["time"] for e in applied)
    busiest = max(sum(1 for t in stamps[i:] if t < start + 1.4) for i, start in enumerate(stamps))
    assert busiest <= 150


# --- resource units --------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, params, units", [
    ("GET", "/users", {}, "2"),
    ("GET", "/users", {"$select": "id,userPrincipalName"}, "1"),
    ("GET", "/users/" + ALICE, {}, "1"),
    # $select takes one off, but a request never costs less than 1.
    ("GET", "/users/" + ALICE, {"$select": "id"}, "1"),
    ("PATCH", "/users/" + BOB, {}, "1"),
    ("GET", "/roleManagement/directory/roleAssignments", {}, "1"),
    ("GET", "/roleManagement/directory/roleAssignments", {"$expand": "roleDefinition"}, "2"),
], ids=["list-users", "list-users-select", "get-user", "get-user-select", "patch", "list", "list-expand"])
def test_resource_unit_header_matches_documented_cost(lab, method, path, params, units):
    kwargs = {"json": {"jobTitle": "costed"}} if method == "PATCH" else {}
    lab.lab("DELETE", "/requests")
    answer = lab.graph(method, path, params=params, **kwargs)
    assert answer.status_code in (200, 204), answer.text
    assert answer.headers["x-ms-resource-unit"] == units
    (entry,) = [e for e in lab.lab("GET", "/requests").json()["value"] if e["path"] == path]
    assert entry["resource_units"] == units


# --- $batch ----------------------------------------------------------------------------------

def test_batch_items_are_counted_one_by_one(lab):
    users = load_users(lab, 20, "batch")
    # 10 writes per (unscaled) 150 s: the window cannot roll over during the batch.
    configure(lab, quota_scale=10 / 3000)
    requests = [{"id": str(n), "method": "PATCH", "url": "/users/" + user["id"], "headers": JSON,
                 "body": {"jobTitle": "batched %d" % n}} for n, user in enumerate(users)]
    answer = lab.graph("POST", "/$batch", json={"requests": requests})
    assert answer.status_code == 200, answer.text
    responses = {int(item["id"]): item for item in answer.json()["responses"]}

    # Items run in order, so the first 10 fit the quota and the rest are refused.
    assert [responses[n]["status"] for n in range(20)] == [204] * 10 + [429] * 10
    for n in range(10, 20):
        headers = responses[n]["headers"]
        assert int(headers["Retry-After"]) >= 1
        assert headers["x-ms-throttle-scope"].startswith("Tenant_Application/Write/")
        assert responses[n]["body"]["error"]["code"] == "TooManyRequests"
    titles = {u["id"]: u.get("jobTitle") for u in lab.lab("GET", "/state").json()["users"]}
    assert [titles[u["id"]] for u in users] == ["batched %d" % n for n in range(10)] + [None] * 10
    items = [e["status"] for e in lab.lab("GET", "/requests").json()["value"] if e.get("batch_item")]
    assert sorted(items) == [204] * 10 + [429] * 10


def test_a_write_refused_by_quota_is_not_counted(lab):
    # A refused request costs nothing, so waiting Retry-After is always enough to get in.
    configure(lab, quota_scale=2 / 3000, time_scale=0.01)  # 2 writes per 1.5 s
    answers = [lab.graph("PATCH", "/users/" + BOB, json={"jobTitle": str(n)}) for n in range(4)]
    assert [a.status_code for a in answers] == [204, 204, 429, 429]
    time.sleep(int(answers[-1].headers["Retry-After"]))
    assert lab.graph("PATCH", "/users/" + BOB, json={"jobTitle": "after"}).status_code == 204
    assert lab.user(BOB, select="jobTitle")["jobTitle"] == "after"


# --- injected faults and latency -------------------------------------------------------------

def test_client_rides_out_two_injected_503s(lab):
    rule = {"status": 503, "count": 2, "method": "PATCH", "path": "^/users/", "retry_after": 1}
    assert lab.lab("POST", "/faults", json=rule).status_code == 200
    lab.lab("DELETE", "/requests")
    client = HonestClient(lab, concurrency=1)
    started = time.monotonic()
    try:
        answer = client.send("PATCH", "/users/" + BOB, json={"jobTitle": "after 503s"})
    finally:
        client.close()
    assert answer.status_code == 204
    assert [(r["status"], r["retry_after"]) for r in client.refusals] == [(503, "1"), (503, "1")]
    assert time.monotonic() - started >= 2.0
    assert [e["status"] for e in lab.lab("GET", "/requests").json()["value"] if e["method"] == "PATCH"] == \
        [503, 503, 204]
    assert lab.user(BOB, select="jobTitle")["jobTitle"] == "after 503s"


def test_drop_fault_closes_the_connection_without_an_answer(lab):
    lab.lab("POST", "/faults", json={"status": "drop", "count": 1, "method": "GET", "path": "^/users/"})
    with pytest.raises(httpx.RemoteProtocolError):
        lab.graph("GET", "/users/" + ALICE)
    # One request only: the next one is answered.
    assert lab.graph("GET", "/users/" + ALICE).status_code == 200


def test_drop_after_carries_the_write_out_and_loses_the_answer(lab):
    lab.lab("POST", "/faults", json={"status": "drop_after", "count": 1, "method": "PATCH", "path": "^/users/"})
    with pytest.raises(httpx.RemoteProtocolError):
        lab.graph("PATCH", "/users/" + BOB, json={"jobTitle": "landed"})
    assert lab.user(BOB, select="jobTitle")["jobTitle"] == "landed"
    assert [e["status"] for e in lab.lab("GET", "/requests").json()["value"] if e["method"] == "PATCH"] == [204]


def test_latency_delays_every_graph_answer(lab):
    lab.token()  # the token request is not under /v1.0 and would blur the timing
    configure(lab, latency_ms=300)
    started = time.monotonic()
    assert lab.graph("GET", "/users/" + ALICE).status_code == 200
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 5
    (entry,) = [e for e in lab.lab("GET", "/requests").json()["value"] if e["path"] == "/users/" + ALICE]
    assert entry["ms"] >= 300

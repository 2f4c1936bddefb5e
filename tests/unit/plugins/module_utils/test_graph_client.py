"""The Graph client's retry, pacing, paging, batching and error rules, against a fake transport.

The real thing is exercised over HTTPS against the lab's Graph emulator in tests/integration.
"""

import collections
import json
import threading
import time

import httpx
import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import (
    READ_BATCHES_IN_FLIGHT,
    GraphClient,
    GraphError,
    OutcomeUnknown,
    WritePacer,
)

ENDPOINT = "https://graph.test"


class FakeTime:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Token:
    def __init__(self):
        self.calls = 0

    def get(self):
        self.calls += 1
        return "tok"


def make_client(handler, fake_time=None, **kwargs):
    fake_time = fake_time or FakeTime()
    client = GraphClient(ENDPOINT, Token(), transport=httpx.MockTransport(handler),
                         clock=fake_time.clock, sleep=fake_time.sleep, **kwargs)
    return client, fake_time


def error(status, code, message, request_id="rid-1", headers=None):
    return httpx.Response(status, json={"error": {"code": code, "message": message,
                                                  "innerError": {"request-id": request_id}}}, headers=headers)


def test_sends_bearer_token_and_json_to_v1():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"id": "u1"})

    client = make_client(handler)[0]
    assert client.request("PATCH", "/users/u1", body={"onPremisesImmutableId": None}) == {"id": "u1"}
    assert str(seen[0].url) == ENDPOINT + "/v1.0/users/u1"
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert json.loads(seen[0].content) == {"onPremisesImmutableId": None}  # explicit JSON null


def test_retry_after_is_honoured_then_succeeds():
    answers = [error(429, "TooManyRequests", "slow down", headers={"Retry-After": "7"}), httpx.Response(204)]
    client, fake = make_client(lambda request: answers.pop(0))
    assert client.request("PATCH", "/users/u1", body={}) is None
    assert fake.sleeps == [7.0]
    assert client.stats["throttled"] == 1


def test_throttling_beyond_the_deadline_fails_with_graph_details():
    client, fake = make_client(lambda r: error(429, "TooManyRequests", "slow down", "rid-9", {"Retry-After": "100"}),
                               deadline=250)
    with pytest.raises(GraphError) as e:
        client.request("GET", "/users/u1", operation="read user", target="ann@contoso.com")
    assert fake.sleeps == [100.0, 100.0]
    assert e.value.status == 429
    assert str(e.value) == "read user ann@contoso.com: Graph answered 429 TooManyRequests: slow down (request-id rid-9)"


@pytest.mark.parametrize("status", [503, 504])
def test_transient_server_errors_are_retried_with_backoff(status):
    answers = [httpx.Response(status), httpx.Response(status), httpx.Response(200, json={})]
    client, fake = make_client(lambda r: answers.pop(0))
    client.request("GET", "/users")
    assert fake.sleeps == [1.0, 2.0]


def test_dropped_connection_is_retried():
    answers = [httpx.ConnectError("reset"), httpx.Response(200, json={"ok": True})]

    def handler(request):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = make_client(handler)[0]
    assert client.request("GET", "/users") == {"ok": True}


def test_client_errors_are_not_retried_and_name_everything():
    calls = []

    def handler(request):
        calls.append(1)
        return error(400, "Request_BadRequest", "Property 'x' is read-only.", "rid-3")

    client = make_client(handler)[0]
    with pytest.raises(GraphError) as e:
        client.request("PATCH", "/users/u1", body={}, operation="set onPremisesImmutableId", target="vp@contoso.com")
    assert len(calls) == 1
    assert (e.value.status, e.value.code, e.value.request_id) == (400, "Request_BadRequest", "rid-3")
    assert "set onPremisesImmutableId vp@contoso.com" in str(e.value)


def test_non_json_error_body_still_gives_a_message():
    client = make_client(lambda r: httpx.Response(502, text="<html>bad gateway</html>"))[0]
    with pytest.raises(GraphError, match="502 NonJsonResponse: <html>bad gateway"):
        client.request("GET", "/users")


def test_paging_follows_next_link_with_consistency_level_on_every_page():
    seen = []

    def handler(request):
        seen.append(request)
        if "skiptoken" in str(request.url):
            return httpx.Response(200, json={"value": [{"id": "3"}]})
        return httpx.Response(200, json={"value": [{"id": "1"}, {"id": "2"}],
                                         "@odata.nextLink": ENDPOINT + "/v1.0/users?$skiptoken=abc"})

    client = make_client(handler)[0]
    items = list(client.iterate("/users", params={"$count": "true"}, advanced=True))
    assert [i["id"] for i in items] == ["1", "2", "3"]
    assert [r.headers.get("ConsistencyLevel") for r in seen] == ["eventual", "eventual"]
    assert str(seen[1].url) == ENDPOINT + "/v1.0/users?$skiptoken=abc"


def test_batch_chunks_by_twenty_and_keeps_order():
    envelopes = []

    def handler(request):
        payload = json.loads(request.content)
        envelopes.append(payload)
        return httpx.Response(200, json={"responses": [
            {"id": item["id"], "status": 200, "body": {"n": int(item["id"])}} for item in reversed(payload["requests"])]})

    client = make_client(handler)[0]
    answers = client.batch([{"method": "GET", "url": "/users/%d" % i} for i in range(45)])
    assert [len(e["requests"]) for e in envelopes] == [20, 20, 5]
    assert [a["body"]["n"] for a in answers] == list(range(45))


def test_batch_retries_only_throttled_items_after_their_retry_after():
    rounds = []

    def handler(request):
        items = json.loads(request.content)["requests"]
        rounds.append([i["id"] for i in items])
        out = []
        for item in items:
            if len(rounds) == 1 and item["id"] in ("1", "2"):
                out.append({"id": item["id"], "status": 429, "headers": {"Retry-After": "3"}, "body": {}})
            else:
                out.append({"id": item["id"], "status": 204, "body": None})
        return httpx.Response(200, json={"responses": out})

    client, fake = make_client(handler)
    answers = client.batch([{"method": "PATCH", "url": "/users/%d" % i, "body": {"a": i}} for i in range(4)])
    assert rounds == [["0", "1", "2", "3"], ["1", "2"]]
    assert fake.sleeps == [3.0]
    assert [a["status"] for a in answers] == [204] * 4


def test_batch_sends_nothing_more_until_a_throttled_chunk_may_retry():
    sent = []

    def handler(request):
        items = json.loads(request.content)["requests"]
        sent.append(([i["id"] for i in items], fake.now))
        status = 429 if len(sent) == 1 else 204
        return httpx.Response(200, json={"responses": [
            {"id": i["id"], "status": status, "headers": {"Retry-After": "2"}} for i in items]})

    client, fake = make_client(handler)
    started = fake.now
    answers = client.batch([{"method": "PATCH", "url": "/users/%d" % i, "body": {}} for i in range(45)])
    expected = [list(range(20)), list(range(20)), list(range(20, 40)), list(range(40, 45))]
    assert [ids for ids, when in sent] == [[str(i) for i in chunk] for chunk in expected]
    assert sent[1][1] >= started + 2, "the retry waited for Retry-After"
    assert fake.sleeps == [2.0]
    assert [a["status"] for a in answers] == [204] * 45


def test_batch_item_carries_body_and_content_type():
    captured = {}

    def handler(request):
        captured.update(json.loads(request.content)["requests"][0])
        return httpx.Response(200, json={"responses": [{"id": "0", "status": 204}]})

    client = make_client(handler)[0]
    client.batch([{"method": "patch", "url": "/users/u1", "body": {"onPremisesImmutableId": None}}])
    assert captured == {"id": "0", "method": "PATCH", "url": "/users/u1", "body": {"onPremisesImmutableId": None},
                        "headers": {"Content-Type": "application/json"}}


def test_pacer_never_lets_a_window_hold_more_than_the_quota():
    fake = FakeTime()
    pacer = WritePacer(5, 10.0, clock=fake.clock, sleep=fake.sleep)
    stamps = []
    for dummy in range(17):
        pacer.acquire()
        stamps.append(fake.now)
    for i, stamp in enumerate(stamps):
        assert len([s for s in stamps if stamp <= s < stamp + 10.0]) <= 5, i
    assert stamps[-1] - stamps[0] == pytest.approx(30.0)


def test_writes_are_paced_and_reads_are_not():
    client, fake = make_client(lambda r: httpx.Response(204), write_quota=(2, 6.0))
    for dummy in range(4):
        client.request("GET", "/users")
    assert fake.sleeps == []
    for dummy in range(3):
        client.request("PATCH", "/users/u1", body={})
    assert fake.sleeps == [6.0]


def test_unreachable_endpoint_fails_after_a_few_retries_not_the_whole_deadline():
    def handler(request):
        raise httpx.ConnectError("[Errno 111] Connection refused")

    client, fake = make_client(handler)
    with pytest.raises(GraphError) as e:
        client.request("GET", "/users", operation="list users")
    assert fake.sleeps == [1.0, 2.0, 4.0]
    assert str(e.value) == ("list users https://graph.test/v1.0/users: no answer from Microsoft Graph (ConnectError: "
                            "[Errno 111] Connection refused); check graph_endpoint, graph_ca_path (ca_path), the proxy and the network")


def test_transport_retries_are_counted_per_request():
    failures = {"left": 0}

    def handler(request):
        if failures["left"]:
            failures["left"] -= 1
            raise httpx.ReadError("reset by peer")
        return httpx.Response(200, json={})

    client, fake = make_client(handler)
    for dummy in range(3):
        failures["left"] = 3
        client.request("GET", "/users")
    assert client.stats["transport_errors"] == 9


def _answers(answers, sent):
    def handler(request):
        sent.append((request.method, request.url.path))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    return handler


@pytest.mark.parametrize("lost", [httpx.ReadError("reset by peer"), httpx.RemoteProtocolError("no answer"),
                                  httpx.ReadTimeout("timed out")])
def test_a_write_whose_answer_is_lost_is_not_sent_again(lost):
    sent = []
    client = make_client(_answers([lost, httpx.Response(204)], sent))[0]
    with pytest.raises(OutcomeUnknown) as raised:
        client.request("DELETE", "/users/u1", operation="soft-delete user", target="vp@contoso.com")
    assert sent == [("DELETE", "/v1.0/users/u1")], "sent once"
    assert "whether Graph carried it out is unknown" in str(raised.value) and "vp@contoso.com" in str(raised.value)


def test_a_write_that_never_left_is_sent_again():
    sent = []
    client = make_client(_answers([httpx.ConnectError("refused"), httpx.Response(204)], sent))[0]
    assert client.request("PATCH", "/users/u1", body={"jobTitle": "x"}) is None
    assert len(sent) == 2


def test_a_batch_of_writes_is_not_resent_but_a_batch_of_reads_is():
    sent = []
    ok = httpx.Response(200, json={"responses": [{"id": "0", "status": 200, "body": {}}]})
    client = make_client(_answers([httpx.ReadError("reset"), ok], sent))[0]
    assert client.batch([{"method": "GET", "url": "/users/u1"}])[0]["status"] == 200
    assert len(sent) == 2
    sent.clear()
    client = make_client(_answers([httpx.ReadError("reset"), ok], sent))[0]
    with pytest.raises(OutcomeUnknown):
        client.batch([{"method": "PATCH", "url": "/users/u1", "body": {"jobTitle": "x"}}])
    assert len(sent) == 1


def _answering(status_of, sent, before=None):
    """A $batch handler: records each envelope's item ids, answers each item ``status_of(id, nth
    time it is sent)`` (429 with Retry-After 2), after ``before(ids)`` when given."""
    seen = collections.Counter()
    lock = threading.Lock()

    def handler(request):
        ids = [item["id"] for item in json.loads(request.content)["requests"]]
        with lock:
            sent.append(ids)
            statuses = []
            for i in ids:
                seen[i] += 1
                statuses.append(status_of(int(i), seen[i]))
        if before:
            before(ids)
        return httpx.Response(200, json={"responses": [
            {"id": i, "status": status, "headers": {"Retry-After": "2"} if status == 429 else {}, "body": {"n": int(i)}}
            for i, status in reversed(list(zip(ids, statuses)))]})
    return handler


def _reads(n):
    return [{"method": "GET", "url": "/users/%d" % i} for i in range(n)]


def test_read_batches_overlap_a_few_at_a_time_and_answer_in_request_order():
    # The first READ_BATCHES_IN_FLIGHT envelopes meet at a barrier: they are in flight together.
    barrier = threading.Barrier(READ_BATCHES_IN_FLIGHT, timeout=10)
    flying, peak, lock = [0], [0], threading.Lock()

    def together(ids):
        with lock:
            flying[0] += 1
            peak[0] = max(peak[0], flying[0])
        if int(ids[0]) < 20 * READ_BATCHES_IN_FLIGHT:
            barrier.wait()
        time.sleep(0.01)
        with lock:
            flying[0] -= 1

    sent = []
    client = make_client(_answering(lambda i, nth: 200, sent, together))[0]
    answers = client.batch(_reads(200))
    assert [a["body"]["n"] for a in answers] == list(range(200))
    assert peak[0] == READ_BATCHES_IN_FLIGHT
    assert sorted(int(i) for ids in sent for i in ids) == list(range(200)), "each read sent once"
    assert (client.stats["requests"], client.stats["batch_items"]) == (10, 200)


def test_a_throttled_read_envelope_holds_back_new_ones_until_its_retry_after():
    """Envelope 0 is answered 429 at once; 1-3 answer only after that is counted, so the pool is
    full until then: envelope 4 and the retry of 0 must wait for Retry-After (2 s)."""
    sent, times = [], {}
    client = None

    def after_the_throttle(ids):
        times.setdefault(ids[0], []).append(fake.now)
        deadline = time.monotonic() + 10
        while ids[0] != "0" and not client.stats["throttled"] and time.monotonic() < deadline:
            time.sleep(0.001)

    handler = _answering(lambda i, nth: 429 if i < 20 and nth == 1 else 200, sent, after_the_throttle)
    client, fake = make_client(handler)
    started = fake.now
    answers = client.batch(_reads(100))
    assert [a["status"] for a in answers] == [200] * 100
    assert [a["body"]["n"] for a in answers] == list(range(100))
    assert sorted(ids[0] for ids in sent) == ["0", "0", "20", "40", "60", "80"]
    assert times["80"] == [started + 2] and times["0"] == [started, started + 2]
    assert fake.sleeps == [2.0]
    assert (client.stats["requests"], client.stats["batch_items"], client.stats["throttled"]) == (6, 120, 20)


def test_throttled_reads_past_the_deadline_keep_their_429():
    sent = []
    client, fake = make_client(_answering(lambda i, nth: 429 if i == 30 else 200, sent), deadline=3)
    answers = client.batch(_reads(60))
    assert [i for i, a in enumerate(answers) if a["status"] == 429] == [30]
    assert sum(1 for ids in sent if "30" in ids) == 2 and fake.sleeps == [2.0]


def test_a_batch_holding_a_write_sends_one_envelope_at_a_time_and_no_write_twice():
    flying, peak, lock = [0], [0], threading.Lock()

    def one_at_a_time(ids):
        with lock:
            flying[0] += 1
            peak[0] = max(peak[0], flying[0])
        time.sleep(0.01)
        with lock:
            flying[0] -= 1

    sent = []
    requests = _reads(59) + [{"method": "PATCH", "url": "/users/59", "body": {"jobTitle": "x"}}]
    client, fake = make_client(_answering(lambda i, nth: 429 if i in (5, 59) and nth == 1 else 204, sent, one_at_a_time),
                               write_quota=(1, 10.0))
    answers = client.batch(requests)
    assert peak[0] == 1
    assert sent == [[str(i) for i in range(20)], ["5"] + [str(i) for i in range(20, 39)],
                    [str(i) for i in range(39, 59)], ["59"], ["59"]]
    assert [a["status"] for a in answers] == [204] * 60
    # Retry-After twice; the write's second try waits for the quota's window (1 write per 10 s).
    assert fake.sleeps == [2.0, 2.0, 8.0]


def test_the_token_is_asked_by_one_thread_at_a_time():
    class Watched:
        def __init__(self):
            self.inside, self.overlaps, self.lock = 0, 0, threading.Lock()

        def get(self):
            with self.lock:
                self.inside += 1
                self.overlaps += self.inside > 1
            time.sleep(0.002)
            with self.lock:
                self.inside -= 1
            return "tok"

    token = Watched()
    client = GraphClient(ENDPOINT, token, transport=httpx.MockTransport(_answering(lambda i, nth: 200, [])))
    client.batch(_reads(400))
    assert token.overlaps == 0

"""JSON batching (POST /$batch), over raw HTTP.

Source: "Combine multiple HTTP requests using JSON batching" (at most 20 requests; URLs
relative to the version; per-item `id`, `status`, `headers`, `body`; `dependsOn`, a failed
dependency answers 424). msgraph-sdk sends absolute URLs and `depends_on` (LAB-NOTES). Each
test fails if the emulator stops enforcing its rule.
"""

from __future__ import annotations

import pytest

ALICE = "aaaaaaaa-0000-4000-8000-000000000001"
BOB = "aaaaaaaa-0000-4000-8000-000000000002"
READER = "11111111-1111-4111-8111-111111111111"  # User.Read.All (conftest.tenant())
JSON = {"Content-Type": "application/json"}


def graph_error(answer):
    return answer.json()["error"]


def _batch(lab, requests, **kwargs):
    answer = lab.graph("POST", "/$batch", json={"requests": requests}, **kwargs)
    assert answer.status_code == 200, answer.text
    return {item["id"]: item for item in answer.json()["responses"]}


def test_more_than_20_requests_is_400(lab):
    requests = [{"id": str(n), "method": "GET", "url": "/users/" + ALICE} for n in range(21)]
    lab.lab("DELETE", "/requests")
    answer = lab.graph("POST", "/$batch", json={"requests": requests})
    assert answer.status_code == 400
    assert "20" in graph_error(answer)["message"]
    # Nothing inside ran.
    assert not [e for e in lab.lab("GET", "/requests").json()["value"] if e.get("batch_item")]


def test_20_requests_are_accepted(lab):
    requests = [{"id": str(n), "method": "GET", "url": "/users/" + ALICE} for n in range(20)]
    assert {item["status"] for item in _batch(lab, requests).values()} == {200}


@pytest.mark.parametrize("url", ["/users/%s" % ALICE, "users/%s" % ALICE, "{endpoint}/v1.0/users/%s" % ALICE],
                         ids=["leading-slash", "no-slash", "absolute"])
def test_url_forms(lab, url):
    result = _batch(lab, [{"id": "1", "method": "GET", "url": url.format(endpoint=lab.endpoint) + "?$select=id,mail"}])
    assert result["1"]["status"] == 200
    assert result["1"]["body"] == {"@odata.context": result["1"]["body"]["@odata.context"],
                                   "id": ALICE, "mail": "alice@contoso.com"}


def test_per_item_status_headers_and_body(lab):
    result = _batch(lab, [
        {"id": "get", "method": "GET", "url": "/users/" + ALICE},
        {"id": "missing", "method": "GET", "url": "/users/nobody@contoso.com"},
        {"id": "patch", "method": "PATCH", "url": "/users/" + BOB, "headers": JSON, "body": {"jobTitle": "Batched"}},
    ])
    assert result["get"]["status"] == 200
    assert result["get"]["headers"]["Content-Type"].startswith("application/json")
    assert result["get"]["body"]["userPrincipalName"] == "alice@contoso.com"
    assert result["missing"]["status"] == 404
    assert result["missing"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert "nobody@contoso.com" in result["missing"]["body"]["error"]["message"]
    assert result["patch"]["status"] == 204 and "body" not in result["patch"]
    assert lab.user(BOB, select="jobTitle")["jobTitle"] == "Batched"


def test_body_without_content_type_is_refused(lab):
    result = _batch(lab, [{"id": "1", "method": "PATCH", "url": "/users/" + BOB, "body": {"jobTitle": "x"}}])
    assert result["1"]["status"] == 400
    assert lab.user(BOB, select="jobTitle")["jobTitle"] is None


@pytest.mark.parametrize("key", ["dependsOn", "depends_on"])
def test_failed_dependency_answers_424(lab, key):
    result = _batch(lab, [
        {"id": "1", "method": "PATCH", "url": "/users/" + BOB, "headers": JSON, "body": {"shoeSize": 44}},
        {"id": "2", "method": "PATCH", "url": "/users/" + BOB, "headers": JSON, "body": {"jobTitle": "after"},
         key: ["1"]},
    ])
    assert result["1"]["status"] == 400
    assert result["2"]["status"] == 424
    assert lab.user(BOB, select="jobTitle")["jobTitle"] is None  # the dependent write never ran


@pytest.mark.parametrize("key", ["dependsOn", "depends_on"])
def test_dependency_runs_first(lab, key):
    # "2" depends on "1" although listed first: "1" sets the title, "2" reads it.
    result = _batch(lab, [
        {"id": "2", "method": "GET", "url": "/users/%s?$select=jobTitle" % BOB, key: ["1"]},
        {"id": "1", "method": "PATCH", "url": "/users/" + BOB, "headers": JSON, "body": {"jobTitle": "first"}},
    ])
    assert result["1"]["status"] == 204
    assert result["2"]["status"] == 200 and result["2"]["body"]["jobTitle"] == "first"


def test_each_item_is_authorised_and_counted(lab):
    # A User.Read.All app: reads succeed, the write in the middle is refused on its own.
    lab.lab("DELETE", "/requests")
    result = _batch(lab, [
        {"id": "1", "method": "GET", "url": "/users/" + ALICE},
        {"id": "2", "method": "PATCH", "url": "/users/" + BOB, "headers": JSON, "body": {"jobTitle": "no"}},
        {"id": "3", "method": "GET", "url": "/users/" + BOB},
    ], client_id=READER)
    assert [result[i]["status"] for i in ("1", "2", "3")] == [200, 403, 200]
    assert result["2"]["body"]["error"]["code"] == "Authorization_RequestDenied"
    assert "x-ms-resource-unit" in result["1"]["headers"]
    items = [e for e in lab.lab("GET", "/requests").json()["value"] if e.get("batch_item")]
    assert [(e["method"], e["status"]) for e in items] == [("GET", 200), ("PATCH", 403), ("GET", 200)]
    assert lab.user(BOB, select="jobTitle")["jobTitle"] is None


def test_duplicate_ids_are_refused(lab):
    answer = lab.graph("POST", "/$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/users"}]})
    assert answer.status_code == 400
    assert "'1'" in graph_error(answer)["message"]

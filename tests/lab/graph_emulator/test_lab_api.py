"""The lab's own API (/_lab, outside Graph's URL space), over raw HTTP: state load and
validation, persistence across a restart, fault injection and the request log."""

from __future__ import annotations

import json
import pathlib
import signal
import ssl
import subprocess
import sys
import time

import httpx
import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]

ALICE = "aaaaaaaa-0000-4000-8000-000000000001"
BOB = "aaaaaaaa-0000-4000-8000-000000000002"


def graph_error(answer):
    return answer.json()["error"]


def state(lab) -> dict:
    return lab.lab("GET", "/state").json()


# --- /_lab is not Graph --------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1.0/_lab/state", "/v1.0/_lab/health"])
def test_lab_api_is_not_under_v1(lab, path):
    answer = lab.graph("GET", lab.endpoint + path)
    assert answer.status_code in (400, 404)
    assert "users" not in answer.json() and "ok" not in answer.json()
    assert "_lab" in graph_error(answer)["message"]


def test_lab_api_needs_no_token_but_graph_does(lab):
    assert lab.http.get(lab.endpoint + "/_lab/health").json()["ok"] is True
    assert lab.http.get(lab.endpoint + "/v1.0/_lab/state").status_code == 401


# --- PUT /_lab/state -----------------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    (lambda s: s["users"][0].update(userPrincipalName="alice@elsewhere.com"), "users[0].userPrincipalName"),
    (lambda s: s["users"][1].update(shoeSize=44), "users[1]"),
    (lambda s: s["users"][1].update(onPremisesImmutableId="a_b"), "users[1].onPremisesImmutableId"),
    (lambda s: s["users"][1].update(userPrincipalName="ALICE@contoso.com"), "userPrincipalName"),
    (lambda s: s["apps"][0].update(permissions=["Everything.All"]), "apps[0].permissions"),
    (lambda s: s["features"].update(noSuchFeature=True), "features"),
    (lambda s: s.update(colour="blue"), "colour"),
    # Documents of the wrong shape: a 400 naming the field, not a crashed handler.
    (lambda s: s.update(users={"alice": {}}), "users"),
    (lambda s: s.update(domains=["contoso.com"]), "domains[0]"),
    (lambda s: s["users"][0].update(proxyAddresses="SMTP:alice@contoso.com"), "users[0].proxyAddresses"),
    (lambda s: s["users"][4].update(deletedDateTime="last week"), "users[4].deletedDateTime"),
    (lambda s: s["features"].update(blockSoftMatchEnabled="yes"), "features.blockSoftMatchEnabled"),
    (lambda s: s["groups"][0].update(members="alice@contoso.com"), "groups[0].members"),
], ids=["upn-domain", "unknown-property", "immutable-underscore", "duplicate-upn", "permission", "feature", "top",
        "users-not-a-list", "domain-not-an-object", "proxy-not-a-list", "bad-date", "feature-not-bool",
        "members-not-a-list"])
def test_bad_state_is_400_naming_the_field_and_changes_nothing(lab, change, field):
    before = state(lab)
    document = json.loads(json.dumps(before))
    change(document)
    answer = lab.lab("PUT", "/state", json=document)
    assert answer.status_code == 400
    assert field in answer.json()["error"]
    assert state(lab) == before


def test_state_round_trips(lab):
    document = state(lab)
    document["users"].append({"userPrincipalName": "zoe@contoso.com"})
    assert lab.lab("PUT", "/state", json=document).status_code == 200
    assert lab.user("zoe@contoso.com")["userPrincipalName"] == "zoe@contoso.com"


# --- persistence across a restart ----------------------------------------------------------

@pytest.fixture
def own_emulator(tmp_path):
    """Starts emulators on one state folder of their own (never the session's): ``start()``
    answers (process, facts from server.json); each is stopped at the end if still running."""
    started = []

    def start():
        server_json = tmp_path / "graph" / "server.json"
        process = subprocess.Popen([sys.executable, "-m", "lab.graph_emulator", "--state-dir", str(tmp_path)],
                                   cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        deadline = time.monotonic() + 20
        while not server_json.exists():
            assert process.poll() is None and time.monotonic() < deadline, "emulator did not start"
            time.sleep(0.05)
        return process, json.loads(server_json.read_text())

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def _headers(http, facts) -> dict:
    answer = http.post("%s/%s/oauth2/v2.0/token" % (facts["graph_endpoint"], facts["tenant_id"]), data={
        "grant_type": "client_credentials", "client_id": facts["client_id"], "client_secret": facts["client_secret"],
        "scope": "https://graph.microsoft.com/.default"})
    assert answer.status_code == 200, answer.text
    return {"Authorization": "Bearer " + answer.json()["access_token"]}


def test_state_survives_a_restart(own_emulator, tmp_path):
    process, facts = own_emulator()
    with httpx.Client(verify=ssl.create_default_context(cafile=facts["ca_path"]), timeout=30) as http:
        answer = http.post(facts["graph_endpoint"] + "/v1.0/users", headers=_headers(http, facts), json={
            "accountEnabled": True, "displayName": "Persisted", "mailNickname": "persisted",
            "userPrincipalName": "persisted@contoso.com", "passwordProfile": {"password": "Lab-Passw0rd!x"}})
        assert answer.status_code == 201, answer.text
        created = answer.json()["id"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    assert not (tmp_path / "graph" / "server.json").exists()  # a stopped emulator leaves no facts behind

    process, again = own_emulator()
    assert again["graph_pid"] != facts["graph_pid"]
    assert again["tenant_id"] == facts["tenant_id"] and again["client_id"] == facts["client_id"]
    with httpx.Client(verify=ssl.create_default_context(cafile=again["ca_path"]), timeout=30) as http:
        answer = http.get(again["graph_endpoint"] + "/v1.0/users/persisted@contoso.com", headers=_headers(http, again))
        assert answer.status_code == 200, answer.text
        assert answer.json()["id"] == created


# --- fault injection -----------------------------------------------------------------------

def test_next_patches_answer_503_then_succeed(lab):
    rules = lab.lab("POST", "/faults", json={"status": 503, "count": 2, "method": "PATCH", "retry_after": 2})
    assert rules.status_code == 200, rules.text
    # A GET is not matched by a PATCH rule.
    assert lab.graph("GET", "/users/" + BOB).status_code == 200
    for _ in range(2):
        answer = lab.graph("PATCH", "/users/" + BOB, json={"jobTitle": "retried"})
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "2"
        assert lab.user(BOB, select="jobTitle")["jobTitle"] is None
    assert lab.graph("PATCH", "/users/" + BOB, json={"jobTitle": "retried"}).status_code == 204
    assert lab.user(BOB, select="jobTitle")["jobTitle"] == "retried"
    assert lab.lab("GET", "/faults").json()["value"] == []


def test_drop_closes_the_connection(lab):
    lab.lab("POST", "/faults", json={"status": "drop", "count": 1, "path": "^/users/"})
    with pytest.raises(httpx.TransportError):
        lab.graph("GET", "/users/" + ALICE)
    assert lab.graph("GET", "/users/" + ALICE).status_code == 200


def test_skip_lets_the_first_matching_requests_through(lab):
    lab.lab("POST", "/faults", json={"status": 504, "count": 1, "method": "PATCH", "skip": 1})
    assert lab.graph("PATCH", "/users/" + BOB, json={"jobTitle": "first"}).status_code == 204
    assert lab.graph("PATCH", "/users/" + BOB, json={"jobTitle": "second"}).status_code == 504
    assert lab.graph("PATCH", "/users/" + BOB, json={"jobTitle": "third"}).status_code == 204
    assert lab.user(BOB, select="jobTitle")["jobTitle"] == "third"


def test_a_storm_fails_every_nth_matching_request_and_rules_with_offsets_never_overlap(lab):
    lab.lab("POST", "/faults", json=[{"status": 429, "every": 3, "offset": 0, "count": 100, "method": "GET"},
                                     {"status": 503, "every": 3, "offset": 1, "count": 100, "method": "GET"}])
    statuses = [lab.graph("GET", "/users/" + ALICE).status_code for dummy in range(9)]
    assert statuses == [429, 503, 200] * 3
    assert lab.graph("PATCH", "/users/" + BOB, json={"jobTitle": "untouched"}).status_code == 204


@pytest.mark.parametrize("rule, field", [({"status": 418}, "status"), ({"status": 503, "count": 0}, "count"),
                                           ({"status": 503, "skip": -1}, "skip"), ({"status": 503, "every": 0}, "every"),
                                           ({"status": 503, "every": 3, "offset": 3}, "offset")])
def test_bad_fault_rule_is_400_naming_the_field(lab, rule, field):
    answer = lab.lab("POST", "/faults", json=rule)
    assert answer.status_code == 400
    assert field in answer.json()["error"]
    assert lab.lab("GET", "/faults").json()["value"] == []


# --- request log ---------------------------------------------------------------------------

def test_request_log_records_writes_with_bodies(lab):
    lab.token()
    lab.lab("DELETE", "/requests")
    lab.graph("GET", "/users/" + ALICE)
    lab.graph("PATCH", "/users/" + BOB, json={"jobTitle": "logged"})
    lab.graph("PATCH", "/users/" + BOB, json={"shoeSize": 1})
    entries = lab.lab("GET", "/requests").json()["value"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/users/" + ALICE, 200), ("PATCH", "/users/" + BOB, 204), ("PATCH", "/users/" + BOB, 400)]
    assert "body" not in entries[0]
    assert entries[1]["body"] == {"jobTitle": "logged"} and entries[2]["body"] == {"shoeSize": 1}
    assert entries[1]["app"]
    newer = lab.lab("GET", "/requests", params={"since": entries[1]["seq"]}).json()["value"]
    assert [e["seq"] for e in newer] == [entries[2]["seq"]]


def test_request_log_keeps_token_requests_without_the_secret(lab):
    lab.lab("DELETE", "/requests")
    lab.token()
    entries = lab.lab("GET", "/requests").json()["value"]
    assert [(e["method"], e["path"].endswith("/oauth2/v2.0/token"), e["status"]) for e in entries] == [("POST", True, 200)]
    assert lab.facts["client_secret"] not in json.dumps(entries)


def test_loaded_group_gets_its_mail_as_primary_smtp(lab):
    # A group loaded with mail and no proxyAddresses holds "SMTP:<mail>", as Exchange would set.
    group = next(g for g in state(lab)["groups"] if g["displayName"] == "Sales")
    assert group["proxyAddresses"] == ["SMTP:sales@contoso.com"]


def test_the_registered_ad_can_be_forgotten(lab):
    facts = {"ldap_server": "127.0.0.1", "ldaps_port": 6360, "base_dn": "DC=contoso,DC=test",
             "bind_dn": "CN=Administrator,CN=Users,DC=contoso,DC=test", "bind_password": "secret",
             "ldap_ca_path": "/nonexistent/ca.pem"}
    registered = lab.lab("PUT", "/ad", json=facts)
    assert registered.status_code == 200 and registered.json()["bind_password"] == "********"
    assert lab.lab("GET", "/ad").json()["ldap_server"] == "127.0.0.1"
    assert lab.lab("DELETE", "/ad").status_code == 204
    assert lab.lab("GET", "/ad").json() == {}
    refused = lab.lab("POST", "/sync", json={})
    assert refused.status_code == 400 and "no AD registered" in refused.text

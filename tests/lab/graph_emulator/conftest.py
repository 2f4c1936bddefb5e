"""One Graph emulator per test session, in a temporary state folder on a free port, started
as ``python -m lab.graph_emulator`` (the process ``lab up`` runs) and stopped at the end.
Each test starts from the tenant in ``tenant()`` with default settings."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import signal
import ssl
import subprocess
import sys
import time

import httpx
import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lab.graph_emulator import settings  # noqa: E402  (after the path fix)

READER = "11111111-1111-4111-8111-111111111111"
WRITER = "22222222-2222-4222-8222-222222222222"
NOTHING = "33333333-3333-4333-8333-333333333333"
SECRET = "test-secret"


def days_ago(days: int) -> str:
    """A deletion date relative to today: a fixed date would pass the 30-day purge one day."""
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tenant() -> dict:
    """The test tenant, in the tenant-state format (the `tenant` section of a scenario)."""
    return {
        "domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": "contoso.com"},
                    {"id": "fed.contoso.com", "authenticationType": "Federated"}],
        "features": {"blockSoftMatchEnabled": True},
        "users": [
            {"id": "aaaaaaaa-0000-4000-8000-000000000001", "userPrincipalName": "alice@contoso.com",
             "displayName": "Alice", "mail": "alice@contoso.com", "mailbox": True,
             "proxyAddresses": ["SMTP:alice@contoso.com", "smtp:alice@contoso.onmicrosoft.com"],
             "licenses": ["ENTERPRISEPACK"], "roles": [{"name": "Global Administrator"}]},
            {"id": "aaaaaaaa-0000-4000-8000-000000000002", "userPrincipalName": "bob@contoso.com",
             "displayName": "Bob", "onPremisesImmutableId": "Ym9iLWFuY2hvcg==",
             "roles": [{"name": "User Administrator", "assignment": "eligible"}]},
            {"id": "aaaaaaaa-0000-4000-8000-000000000003", "userPrincipalName": "carol@contoso.com",
             "displayName": "Carol", "onPremisesSyncEnabled": True, "onPremisesImmutableId": "Y2Fyb2w=",
             "onPremisesProvisioningErrors": [{"category": "PropertyConflict", "propertyCausingError": "ProxyAddress",
                                               "value": "smtp:x@contoso.com", "occurredDateTime": "2026-11-01T00:00:00Z"}]},
            {"id": "aaaaaaaa-0000-4000-8000-000000000004", "userPrincipalName": "dave@fed.contoso.com",
             "displayName": "Dave", "onPremisesImmutableId": "ZGF2ZQ=="},
            {"id": "aaaaaaaa-0000-4000-8000-000000000005", "userPrincipalName": "gone@contoso.com",
             "displayName": "Gone (mailbox)", "mail": "gone@contoso.com", "mailbox": True,
             "deletedDateTime": days_ago(7)},
            {"id": "aaaaaaaa-0000-4000-8000-000000000006", "userPrincipalName": "erin@contoso.com",
             "displayName": "Erin (deleted, no mailbox)", "mail": "erin@contoso.com",
             "proxyAddresses": ["SMTP:erin@contoso.com"], "deletedDateTime": days_ago(6)},
        ],
        "groups": [{"id": "bbbbbbbb-0000-4000-8000-000000000001", "displayName": "Sales",
                    "mail": "sales@contoso.com", "members": ["alice@contoso.com"]}],
        "contacts": [{"id": "cccccccc-0000-4000-8000-000000000001", "displayName": "Partner",
                      "mail": "partner@contoso.com", "proxyAddresses": ["SMTP:partner@contoso.com"]}],
        "apps": [{"clientId": READER, "clientSecret": SECRET, "permissions": ["User.Read.All"]},
                 {"clientId": WRITER, "clientSecret": SECRET, "permissions": ["User.ReadWrite.All"]},
                 {"clientId": NOTHING, "clientSecret": SECRET, "permissions": []}],
    }


class Lab:
    """The emulator's facts plus small helpers for raw-HTTP tests."""

    def __init__(self, facts: dict):
        self.facts = facts
        self.endpoint = facts["graph_endpoint"]
        self.ca = facts["ca_path"]
        # httpx 0.28 deprecates verify=<path>; a context with the lab CA is the same trust.
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=self.ca), timeout=30)
        self._tokens: dict = {}

    def token(self, client_id=None, secret=None) -> str:
        client_id = client_id or self.facts["client_id"]
        if client_id not in self._tokens:
            answer = self.http.post("%s/%s/oauth2/v2.0/token" % (self.endpoint, self.facts["tenant_id"]), data={
                "grant_type": "client_credentials", "client_id": client_id,
                "client_secret": secret or (SECRET if client_id != self.facts["client_id"] else self.facts["client_secret"]),
                "scope": "https://graph.microsoft.com/.default"})
            answer.raise_for_status()
            self._tokens[client_id] = answer.json()["access_token"]
        return self._tokens[client_id]

    def graph(self, method, path, client_id=None, headers=None, **kwargs) -> httpx.Response:
        headers = dict(headers or {})
        headers.setdefault("Authorization", "Bearer " + self.token(client_id))
        url = path if path.startswith("https://") else self.endpoint + "/v1.0" + path
        return self.http.request(method, url, headers=headers, **kwargs)

    def lab(self, method, path, **kwargs) -> httpx.Response:
        return self.http.request(method, self.endpoint + "/_lab" + path, **kwargs)

    def user(self, key: str, select: str = "id,userPrincipalName,mail,proxyAddresses,onPremisesImmutableId") -> dict:
        answer = self.graph("GET", "/users/%s" % key, params={"$select": select})
        assert answer.status_code == 200, answer.text
        return answer.json()


def graph_error(answer: httpx.Response) -> dict:
    return answer.json()["error"]


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("lab-state")
    server_json = state_dir / "graph" / "server.json"
    process = subprocess.Popen([sys.executable, "-m", "lab.graph_emulator", "--state-dir", str(state_dir)],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(state_dir / "emulator.err", "w"))
    deadline = time.monotonic() + 20
    while not server_json.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("emulator did not start: %s" % (state_dir / "emulator.err").read_text())
        time.sleep(0.05)
    facts = json.loads(server_json.read_text())
    facts["state_dir"] = str(state_dir)
    facts["process"] = process
    yield facts
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def lab(emulator):
    client = Lab(emulator)
    answer = client.lab("POST", "/reset", json=tenant())
    assert answer.status_code == 200, answer.text
    client.lab("PATCH", "/config", json=settings.DEFAULTS)
    yield client
    client.http.close()

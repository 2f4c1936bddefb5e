"""azure-identity against the emulator's token service, as the collection will use it.

The collection takes every credential from azure-identity (DESIGN.md "Decisions"), so the
emulator is only useful if an unmodified ``ClientSecretCredential`` can get a token from it
and that token opens /v1.0. What MSAL needs from the emulator is in LAB-NOTES.md ("Graph
emulator: what the clients do"): an https authority, ``disable_instance_discovery=True``,
the v2.0 discovery document and the token endpoint.
"""

from __future__ import annotations

import ssl
import time

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
READER = "11111111-1111-4111-8111-111111111111"  # User.Read.All (conftest.tenant())
SECRET = "test-secret"


def _credential(lab, client_id=None, secret=None) -> ClientSecretCredential:
    facts = lab.facts
    return ClientSecretCredential(facts["tenant_id"], client_id or facts["client_id"],
                                  secret or facts["client_secret"], authority=facts["authority_host"],
                                  disable_instance_discovery=True, connection_verify=facts["ca_path"])


def test_client_secret_credential_gets_a_graph_token(lab):
    with _credential(lab) as credential:
        token = credential.get_token(GRAPH_SCOPE)
    assert token.token.count(".") == 2, "a JWT"
    # expires_in 3599 by default; MSAL turns it into an absolute time.
    assert 3000 < token.expires_on - time.time() <= 3600
    # MSAL went through discovery and the token endpoint, nothing else.
    log = lab.lab("GET", "/requests").json()["value"]
    grants = [e for e in log if e["path"].endswith("/oauth2/v2.0/token")]
    assert [(e["status"], e["body"]["grant_type"], e["body"]["scope"]) for e in grants] == \
        [(200, "client_credentials", GRAPH_SCOPE)]


def test_wrong_secret_raises_client_authentication_error(lab):
    with _credential(lab, secret="not-the-secret") as credential:
        with pytest.raises(ClientAuthenticationError) as raised:
            credential.get_token(GRAPH_SCOPE)
    # azure-identity puts only error_description in the message (as it does with Entra ID), so
    # the AADSTS code is what callers can match on; "invalid_client" is the OAuth error beside it.
    assert "AADSTS7000215" in str(raised.value)
    assert "Invalid client secret" in str(raised.value)
    grants = [e for e in lab.lab("GET", "/requests").json()["value"] if e["path"].endswith("/oauth2/v2.0/token")]
    assert [e["status"] for e in grants] == [401]
    raw = lab.http.post("%s/%s/oauth2/v2.0/token" % (lab.endpoint, lab.facts["tenant_id"]), data={
        "grant_type": "client_credentials", "client_id": lab.facts["client_id"], "client_secret": "not-the-secret",
        "scope": GRAPH_SCOPE})
    assert raw.json()["error"] == "invalid_client"
    assert raw.json()["error_description"].startswith("AADSTS7000215:")


def test_token_opens_v1_users_over_httpx(lab):
    with _credential(lab) as credential:
        token = credential.get_token(GRAPH_SCOPE).token
    with httpx.Client(verify=ssl.create_default_context(cafile=lab.ca), timeout=30) as http:
        answer = http.get(lab.endpoint + "/v1.0/users", params={"$select": "id,userPrincipalName"},
                          headers={"Authorization": "Bearer " + token})
    assert answer.status_code == 200, answer.text
    upns = sorted(u["userPrincipalName"] for u in answer.json()["value"])
    # Soft-deleted users (gone@, erin@) are not in /users.
    assert upns == ["alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "dave@fed.contoso.com"]


def test_token_of_a_tenant_app_carries_its_own_permissions(lab):
    # The same credential class works for any app registered in the tenant, and the emulator
    # authorises by that app's roles, not the lab app's.
    with _credential(lab, client_id=READER, secret=SECRET) as credential:
        token = credential.get_token(GRAPH_SCOPE).token
    headers = {"Authorization": "Bearer " + token}
    assert lab.graph("GET", "/users", headers=headers).status_code == 200
    denied = lab.graph("PATCH", "/users/bob@contoso.com", headers=headers, json={"jobTitle": "x"})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"

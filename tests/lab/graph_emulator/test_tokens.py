"""The token service and Graph's bearer-token checks, over raw HTTP.

Sources: "OpenID Connect on the Microsoft identity platform" (discovery document),
"Microsoft identity platform and the OAuth 2.0 client credentials flow" (errors, `/.default`),
"Microsoft Graph error responses" (401 InvalidAuthenticationToken, 403
Authorization_RequestDenied). Each test fails if the emulator stops enforcing its rule.
"""

from __future__ import annotations

import base64
import json

import pytest

# App ids and secret of the test tenant (conftest.tenant()).
READER = "11111111-1111-4111-8111-111111111111"   # User.Read.All
NOTHING = "33333333-3333-4333-8333-333333333333"  # no permission
SECRET = "test-secret"

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
CAROL = "aaaaaaaa-0000-4000-8000-000000000003"


def graph_error(answer):
    return answer.json()["error"]


def _token_url(lab, tenant=None):
    return "%s/%s/oauth2/v2.0/token" % (lab.endpoint, tenant or lab.facts["tenant_id"])


def _grant(lab, **form):
    data = {"grant_type": "client_credentials", "client_id": lab.facts["client_id"],
            "client_secret": lab.facts["client_secret"], "scope": GRAPH_SCOPE}
    data.update(form)
    return lab.http.post(_token_url(lab), data=data)


def test_discovery_document_names_authorize_and_token_endpoints(lab):
    # MSAL reads both from {authority}/{tenant}/v2.0/.well-known/openid-configuration (LAB-NOTES).
    answer = lab.http.get("%s/%s/v2.0/.well-known/openid-configuration" % (lab.endpoint, lab.facts["tenant_id"]))
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["token_endpoint"] == _token_url(lab)
    assert document["authorization_endpoint"].startswith(lab.endpoint + "/")
    assert document["authorization_endpoint"].endswith("/oauth2/v2.0/authorize")


def test_discovery_for_an_unknown_tenant_is_refused(lab):
    answer = lab.http.get("%s/not-a-tenant/v2.0/.well-known/openid-configuration" % lab.endpoint)
    assert answer.status_code == 400
    assert "not-a-tenant" in answer.json()["error_description"]


@pytest.mark.parametrize("tenant", ["contoso.com", "CONTOSO.onmicrosoft.com"])
def test_a_verified_domain_names_the_tenant(lab, tenant):
    answer = lab.http.get("%s/%s/v2.0/.well-known/openid-configuration" % (lab.endpoint, tenant))
    assert answer.status_code == 200, answer.text
    data = {"grant_type": "client_credentials", "client_id": READER, "client_secret": SECRET, "scope": GRAPH_SCOPE}
    assert lab.http.post(_token_url(lab, tenant), data=data).status_code == 200


def test_another_tenants_domain_is_90002(lab):
    data = {"grant_type": "client_credentials", "client_id": READER, "client_secret": SECRET, "scope": GRAPH_SCOPE}
    answer = lab.http.post(_token_url(lab, "fabrikam.onmicrosoft.com"), data=data)
    assert answer.status_code == 400
    body = answer.json()
    assert body["error_codes"] == [90002] and "fabrikam.onmicrosoft.com" in body["error_description"]


def test_client_secret_basic_is_accepted(lab):
    # The discovery document offers client_secret_basic: credentials in an Authorization header.
    basic = base64.b64encode(("%s:%s" % (READER, SECRET)).encode()).decode()
    answer = lab.http.post(_token_url(lab), headers={"Authorization": "Basic " + basic},
                           data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE})
    assert answer.status_code == 200, answer.text
    basic = base64.b64encode(("%s:wrong" % READER).encode()).decode()
    answer = lab.http.post(_token_url(lab), headers={"Authorization": "Basic " + basic},
                           data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE})
    assert answer.status_code == 401 and answer.json()["error_codes"] == [7000215]


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "scope"])
def test_missing_parameter_is_900144_naming_it(lab, missing):
    data = {"grant_type": "client_credentials", "client_id": READER, "client_secret": SECRET, "scope": GRAPH_SCOPE}
    del data[missing]
    answer = lab.http.post(_token_url(lab), data=data)
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "invalid_request" and body["error_codes"] == [900144]
    assert "'%s'" % missing in body["error_description"]


def test_client_credentials_grant_issues_a_bearer_token(lab):
    answer = _grant(lab)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["access_token"].count(".") == 2


def test_wrong_secret_is_invalid_client_7000215(lab):
    answer = _grant(lab, client_id=READER, client_secret="not-the-secret")
    assert answer.status_code == 401
    body = answer.json()
    assert body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215:")
    assert READER in body["error_description"]


def test_unknown_client_is_refused_naming_it(lab):
    unknown = "44444444-4444-4444-8444-444444444444"
    answer = _grant(lab, client_id=unknown, client_secret=SECRET)
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "unauthorized_client"
    assert body["error_description"].startswith("AADSTS700016:")
    assert unknown in body["error_description"]


def test_scope_without_default_suffix_is_invalid_scope(lab):
    # Client credentials need "<resource>/.default"; a delegated-style scope is refused.
    answer = _grant(lab, scope="https://graph.microsoft.com/User.Read.All")
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "invalid_scope"
    assert body["error_description"].startswith("AADSTS1002012:")
    assert "https://graph.microsoft.com/User.Read.All" in body["error_description"]


def test_missing_bearer_is_401_with_www_authenticate(lab):
    answer = lab.http.get(lab.endpoint + "/v1.0/users")
    assert answer.status_code == 401
    assert graph_error(answer)["code"] == "InvalidAuthenticationToken"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer ")


def test_tampered_token_is_401(lab):
    header, payload, signature = lab.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = claims["roles"] + ["Directory.ReadWrite.All"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    answer = lab.graph("GET", "/users", headers={"Authorization": "Bearer %s.%s.%s" % (header, forged, signature)})
    assert answer.status_code == 401
    error = graph_error(answer)
    assert error["code"] == "InvalidAuthenticationToken"
    assert "signature" in error["message"].lower()


def test_expired_token_is_401(lab):
    token = lab.token()
    assert lab.graph("GET", "/users").status_code == 200
    # Move the emulator's clock past the token's lifetime (3599 s by default).
    lab.lab("PATCH", "/config", json={"clock_offset": 3600})
    answer = lab.graph("GET", "/users", headers={"Authorization": "Bearer " + token})
    assert answer.status_code == 401
    error = graph_error(answer)
    assert error["code"] == "InvalidAuthenticationToken"
    assert "expired" in error["message"]


def _token_for(lab, scope):
    answer = _grant(lab, scope=scope)
    assert answer.status_code == 200, answer.text
    return {"Authorization": "Bearer " + answer.json()["access_token"]}


def test_token_for_another_resource_is_401_invalid_audience(lab):
    answer = lab.graph("GET", "/users", headers=_token_for(lab, "https://management.azure.com/.default"))
    assert answer.status_code == 401
    error = graph_error(answer)
    assert error["code"] == "InvalidAuthenticationToken"
    assert "audience" in error["message"]


@pytest.mark.parametrize("scope", ["https://graph.microsoft.com/.default", "00000003-0000-0000-c000-000000000000/.default",
                                   "{endpoint}/.default"], ids=["graph-uri", "graph-app-id", "endpoint"])
def test_graph_audiences_are_accepted(lab, scope):
    # The collection asks for "<graph_endpoint>/.default", so the emulator's own address counts.
    answer = lab.graph("GET", "/users", headers=_token_for(lab, scope.format(endpoint=lab.endpoint)))
    assert answer.status_code == 200, answer.text


def test_fault_rule_without_path_spares_the_token_endpoint(lab):
    lab.lab("POST", "/faults", json={"status": 503, "count": 1, "method": "POST"})
    assert _grant(lab).status_code == 200
    assert lab.graph("POST", "/users", json={}).status_code == 503


def test_fault_rule_naming_the_token_endpoint(lab):
    lab.lab("POST", "/faults", json={"status": 503, "count": 1, "path": "token$"})
    assert _grant(lab).status_code == 503
    assert _grant(lab).status_code == 200


def test_short_token_lifetime_is_reported_in_expires_in(lab):
    lab.lab("PATCH", "/config", json={"token_lifetime": 5})
    assert _grant(lab).json()["expires_in"] == 5


def test_app_without_permission_is_403(lab):
    answer = lab.graph("GET", "/users", client_id=NOTHING)
    assert answer.status_code == 403
    assert graph_error(answer)["code"] == "Authorization_RequestDenied"


def test_reader_app_cannot_patch_and_nothing_changes(lab):
    before = lab.user(CAROL, select="id,displayName")
    answer = lab.graph("PATCH", "/users/" + CAROL, client_id=READER, json={"displayName": "Mallory"})
    assert answer.status_code == 403
    assert graph_error(answer)["code"] == "Authorization_RequestDenied"
    assert lab.user(CAROL, select="id,displayName") == before

"""Federated users and passwords on PATCH /users, over raw HTTP.

Sources, "Update user" (2026): passwordProfile "can't be used for federated users", and "In
app-only scenarios, the calling app must be assigned a supported permission *and* at least the
*User Administrator* Microsoft Entra role"; onPremisesImmutableId "must be specified when
creating a new user account in the Graph if you're using a federated domain for the user's
userPrincipalName (UPN) property" ("Create user" says the same), which the lab keeps as an
invariant on updates. Moving a UPN off a federated domain needs no password: that was MSOnline's
Set-MsolUserPrincipalName, not Graph. Each test fails if the emulator stops enforcing its rule
(or, for the last, enforces the MSOnline one again).
"""

from __future__ import annotations

import pytest

ALICE = "aaaaaaaa-0000-4000-8000-000000000001"   # contoso.com, no immutable id
BOB = "aaaaaaaa-0000-4000-8000-000000000002"     # contoso.com, immutable id Ym9iLWFuY2hvcg==
DAVE = "aaaaaaaa-0000-4000-8000-000000000004"    # fed.contoso.com (federated), immutable id ZGF2ZQ==
WRITER = "22222222-2222-4222-8222-222222222222"  # User.ReadWrite.All, no directory role (conftest.tenant())
SECRET = "test-secret"
PASSWORD = {"password": "Xy7!long-enough-pass", "forceChangePasswordNextSignIn": True}

APPS = {
    "User Administrator": "55555555-5555-4555-8555-000000000001",
    "Global Administrator": "55555555-5555-4555-8555-000000000002",
    "Exchange Administrator": "55555555-5555-4555-8555-000000000003",
}
USER_ADMIN_APP = APPS["User Administrator"]


def graph_error(answer):
    return answer.json()["error"]


def state(lab) -> dict:
    return lab.lab("GET", "/state").json()


@pytest.fixture
def role_apps(lab):
    """The test tenant plus one User.ReadWrite.All app per directory role in APPS."""
    tenant = state(lab)
    for role, client_id in APPS.items():
        tenant["apps"].append({"clientId": client_id, "clientSecret": SECRET, "permissions": ["User.ReadWrite.All"],
                               "directoryRoles": [role]})
    answer = lab.lab("PUT", "/state", json=tenant)
    assert answer.status_code == 200, answer.text
    return lab


# --- passwordProfile ---------------------------------------------------------------------

def test_password_of_a_federated_user_is_refused_even_for_a_user_administrator_app(role_apps):
    lab = role_apps
    before = state(lab)
    answer = lab.graph("PATCH", "/users/" + DAVE, client_id=USER_ADMIN_APP, json={"passwordProfile": PASSWORD})
    assert answer.status_code == 400, answer.text
    assert "This can't be used for federated users." in graph_error(answer)["message"]
    # Also when the same PATCH moves the UPN to a managed domain: the user is federated now.
    answer = lab.graph("PATCH", "/users/" + DAVE, client_id=USER_ADMIN_APP,
                       json={"userPrincipalName": "dave@contoso.com", "passwordProfile": PASSWORD})
    assert answer.status_code == 400, answer.text
    assert "federated" in graph_error(answer)["message"]
    assert state(lab) == before


@pytest.mark.parametrize("role", ["User Administrator", "Global Administrator"])
def test_password_of_a_managed_user_is_set_by_an_app_with_a_password_role(role_apps, role):
    answer = role_apps.graph("PATCH", "/users/" + BOB, client_id=APPS[role], json={"passwordProfile": PASSWORD})
    assert answer.status_code == 204, answer.text


@pytest.mark.parametrize("client_id", [WRITER, APPS["Exchange Administrator"], None],
                         ids=["no-role", "exchange-administrator", "lab-app"])
def test_password_needs_at_least_user_administrator_app_only(role_apps, client_id):
    lab = role_apps
    before = state(lab)
    answer = lab.graph("PATCH", "/users/" + BOB, client_id=client_id, json={"passwordProfile": PASSWORD})
    assert answer.status_code == 403, answer.text
    error = graph_error(answer)
    assert error["code"] == "Authorization_RequestDenied"
    assert "User Administrator" in error["message"]
    assert state(lab) == before


# --- a federated UPN keeps an immutable id ----------------------------------------------------

def test_immutable_id_of_a_federated_user_cannot_be_cleared(lab):
    before = state(lab)
    answer = lab.graph("PATCH", "/users/" + DAVE, json={"onPremisesImmutableId": None})
    assert answer.status_code == 400, answer.text
    message = graph_error(answer)["message"]
    assert "federated domain" in message and "onPremisesImmutableId" in message
    assert state(lab) == before
    # Off the federated domain (in the same PATCH or before) the value can be cleared.
    answer = lab.graph("PATCH", "/users/" + DAVE, json={"userPrincipalName": "dave@contoso.com",
                                                       "onPremisesImmutableId": None})
    assert answer.status_code == 204, answer.text
    assert lab.user(DAVE)["onPremisesImmutableId"] is None


def test_moving_onto_a_federated_domain_needs_an_immutable_id(lab):
    before = state(lab)
    answer = lab.graph("PATCH", "/users/" + ALICE, json={"userPrincipalName": "alice@fed.contoso.com"})
    assert answer.status_code == 400, answer.text
    assert "onPremisesImmutableId" in graph_error(answer)["message"]
    answer = lab.graph("PATCH", "/users/" + BOB, json={"userPrincipalName": "bob@fed.contoso.com",
                                                      "onPremisesImmutableId": None})
    assert answer.status_code == 400, answer.text
    assert state(lab) == before
    # A user with a value moves onto the federated domain.
    assert lab.graph("PATCH", "/users/" + BOB, json={"userPrincipalName": "bob@fed.contoso.com"}).status_code == 204
    assert lab.user(BOB)["userPrincipalName"] == "bob@fed.contoso.com"


def test_leaving_a_federated_domain_needs_no_password(lab):
    answer = lab.graph("PATCH", "/users/" + DAVE, json={"userPrincipalName": "dave@contoso.onmicrosoft.com"})
    assert answer.status_code == 204, answer.text
    assert lab.user(DAVE)["userPrincipalName"] == "dave@contoso.onmicrosoft.com"

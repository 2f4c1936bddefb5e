"""Write rules on /users, over raw HTTP: every refused write leaves the tenant unchanged.

Sources: "Update user" and "user resource type" (onPremisesImmutableId: cloud-only users only,
no `$` or `_`, JSON null clears; proxyAddresses read-only), "Create user" (federated UPN; test_federated_rules.py has the rest),
"Identity synchronization and duplicate attribute resiliency" (UPN and SMTP addresses unique
tenant-wide across users, groups and contacts, case-insensitively → ObjectConflict),
"Restore or remove a recently deleted user" (a soft-deleted user frees its UPN; its mailbox
keeps the SMTP addresses until purged). Each test fails if the emulator stops enforcing it.
"""

from __future__ import annotations

import pytest

ALICE = "aaaaaaaa-0000-4000-8000-000000000001"
BOB = "aaaaaaaa-0000-4000-8000-000000000002"
CAROL = "aaaaaaaa-0000-4000-8000-000000000003"
DAVE = "aaaaaaaa-0000-4000-8000-000000000004"
ON_PREM_MASTERED = "Unable to update the specified properties for on-premises mastered Directory Sync objects"


def graph_error(answer):
    return answer.json()["error"]


def state(lab) -> dict:
    return lab.lab("GET", "/state").json()


def _conflict(answer, prop: str) -> None:
    assert answer.status_code == 400, answer.text
    error = graph_error(answer)
    assert prop in error["message"]
    assert any(d["code"] == "ObjectConflict" and d["target"] == prop for d in error.get("details", [])), error


def _new_user(upn: str, **extra) -> dict:
    body = {"accountEnabled": True, "displayName": upn.split("@")[0], "mailNickname": upn.split("@")[0],
            "userPrincipalName": upn, "passwordProfile": {"password": "Lab-Passw0rd!x"}}
    body.update(extra)
    return body


# --- onPremisesImmutableId ---------------------------------------------------------------

def test_immutable_id_of_a_synced_user_is_on_premises_mastered(lab):
    before = state(lab)
    answer = lab.graph("PATCH", "/users/" + CAROL, json={"onPremisesImmutableId": "bmV3"})
    assert answer.status_code == 400
    error = graph_error(answer)
    assert error["code"] == "Request_BadRequest"
    assert error["message"].startswith(ON_PREM_MASTERED)
    assert state(lab) == before
    assert lab.user(CAROL)["onPremisesImmutableId"] == "Y2Fyb2w="


def test_immutable_id_held_by_an_active_user_is_an_object_conflict(lab):
    before = state(lab)
    _conflict(lab.graph("PATCH", "/users/" + ALICE, json={"onPremisesImmutableId": "Ym9iLWFuY2hvcg=="}),
              "onPremisesImmutableId")
    assert state(lab) == before


def test_immutable_id_held_by_a_soft_deleted_user_is_an_object_conflict(lab):
    # A soft-deleted user keeps its anchor (a hard match to it restores the user).
    assert lab.graph("DELETE", "/users/" + BOB).status_code == 204
    before = state(lab)
    _conflict(lab.graph("PATCH", "/users/" + ALICE, json={"onPremisesImmutableId": "Ym9iLWFuY2hvcg=="}),
              "onPremisesImmutableId")
    assert state(lab) == before


@pytest.mark.parametrize("value", ["abc$def", "abc_def"])
def test_dollar_and_underscore_are_refused(lab, value):
    before = state(lab)
    answer = lab.graph("PATCH", "/users/" + ALICE, json={"onPremisesImmutableId": value})
    assert answer.status_code == 400
    assert "onPremisesImmutableId" in graph_error(answer)["message"]
    assert state(lab) == before


def test_set_then_clear_with_json_null(lab):
    assert lab.graph("PATCH", "/users/" + ALICE, json={"onPremisesImmutableId": "YWxpY2U="}).status_code == 204
    assert lab.user(ALICE)["onPremisesImmutableId"] == "YWxpY2U="
    answer = lab.graph("PATCH", "/users/" + BOB, json={"onPremisesImmutableId": None})
    assert answer.status_code == 204
    assert lab.user(BOB)["onPremisesImmutableId"] is None
    # The cleared value is free again.
    assert lab.graph("PATCH", "/users/" + ALICE, json={"onPremisesImmutableId": "Ym9iLWFuY2hvcg=="}).status_code == 204


def test_federated_user_needs_a_managed_upn_before_a_new_immutable_id(lab):
    before = state(lab)
    answer = lab.graph("PATCH", "/users/" + DAVE, json={"onPremisesImmutableId": "bmV3LWRhdmU="})
    assert answer.status_code == 400
    error = graph_error(answer)
    assert "federated" in error["message"] and "onPremisesImmutableId" in error["message"]
    assert state(lab) == before
    # Nor in the PATCH that moves the UPN away from the federated domain.
    answer = lab.graph("PATCH", "/users/" + DAVE, json={"userPrincipalName": "dave@contoso.com",
                                                       "onPremisesImmutableId": "bmV3LWRhdmU="})
    assert answer.status_code == 400 and "federated" in graph_error(answer)["message"]
    assert state(lab) == before
    # The documented workaround: move the UPN to a managed domain, set the value, move it back.
    # No password: "Update user" (passwordProfile) "can't be used for federated users".
    assert lab.graph("PATCH", "/users/" + DAVE, json={"userPrincipalName": "dave@contoso.com"}).status_code == 204
    assert lab.graph("PATCH", "/users/" + DAVE, json={"onPremisesImmutableId": "bmV3LWRhdmU="}).status_code == 204
    assert lab.graph("PATCH", "/users/" + DAVE, json={"userPrincipalName": "dave@fed.contoso.com"}).status_code == 204
    assert lab.user(DAVE)["onPremisesImmutableId"] == "bmV3LWRhdmU="


# --- UPN uniqueness ------------------------------------------------------------------------

def test_create_with_a_taken_upn_is_an_object_conflict(lab):
    before = state(lab)
    _conflict(lab.graph("POST", "/users", json=_new_user("Alice@Contoso.com")), "userPrincipalName")
    assert state(lab) == before


def test_patch_to_a_taken_upn_is_an_object_conflict(lab):
    before = state(lab)
    _conflict(lab.graph("PATCH", "/users/" + BOB, json={"userPrincipalName": "ALICE@contoso.com"}), "userPrincipalName")
    assert state(lab) == before


def test_upn_of_a_soft_deleted_user_is_free(lab):
    answer = lab.graph("POST", "/users", json=_new_user("gone@contoso.com"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["userPrincipalName"] == "gone@contoso.com"
    assert lab.user("gone@contoso.com")["id"] == answer.json()["id"]


# --- SMTP address uniqueness ---------------------------------------------------------------

@pytest.mark.parametrize("address", ["sales@contoso.com", "partner@contoso.com", "gone@contoso.com",
                                     "SALES@Contoso.COM", "Gone@contoso.com"],
                         ids=["group", "contact", "deleted-with-mailbox", "group-case", "deleted-case"])
def test_patch_mail_to_a_held_address_is_a_conflict(lab, address):
    before = state(lab)
    _conflict(lab.graph("PATCH", "/users/" + BOB, json={"mail": address}), "proxyAddresses")
    assert state(lab) == before


@pytest.mark.parametrize("address", ["sales@contoso.com", "partner@contoso.com", "gone@contoso.com",
                                     "alice@contoso.onmicrosoft.com"],
                         ids=["group", "contact", "deleted-with-mailbox", "user-secondary"])
def test_create_with_a_held_mail_is_a_conflict(lab, address):
    before = state(lab)
    _conflict(lab.graph("POST", "/users", json=_new_user("newbie@contoso.com", mail=address)), "proxyAddresses")
    assert state(lab) == before


def test_address_of_a_soft_deleted_user_without_mailbox_is_free(lab):
    assert lab.graph("PATCH", "/users/" + BOB, json={"mail": "ERIN@contoso.com"}).status_code == 204
    bob = lab.user(BOB)
    assert bob["mail"] == "ERIN@contoso.com"
    assert "SMTP:ERIN@contoso.com" in bob["proxyAddresses"]


# --- other write rules ---------------------------------------------------------------------

def test_proxy_addresses_are_read_only(lab):
    before = state(lab)
    answer = lab.graph("PATCH", "/users/" + BOB, json={"proxyAddresses": ["SMTP:bob@contoso.com"]})
    assert answer.status_code == 400
    assert "proxyAddresses" in graph_error(answer)["message"]
    assert state(lab) == before


def test_unknown_property_is_refused(lab):
    before = state(lab)
    answer = lab.graph("PATCH", "/users/" + BOB, json={"shoeSize": 44})
    assert answer.status_code == 400
    assert "shoeSize" in graph_error(answer)["message"]
    assert state(lab) == before


def test_odata_type_in_the_body_is_ignored(lab):
    # msgraph-sdk sends "@odata.type" in PATCH bodies (LAB-NOTES).
    answer = lab.graph("PATCH", "/users/" + BOB, json={"@odata.type": "#microsoft.graph.user", "jobTitle": "Tester"})
    assert answer.status_code == 204, answer.text
    assert lab.user(BOB, select="jobTitle")["jobTitle"] == "Tester"

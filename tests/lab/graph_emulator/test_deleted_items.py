"""The recycle bin (/directory/deletedItems), over raw HTTP.

Sources: "List deletedItems (directory objects)" (type cast required), "Get deleted item",
"Permanently delete an item (directory object)" (204, irreversible), "Restore deleted item"
(`newUserPrincipalName`, `autoReconcileProxyConflict`), "Delete a user" (soft delete, 30 days),
"Restore or remove a recently deleted user". Each test fails if the emulator stops enforcing it.
"""

from __future__ import annotations

import time

import pytest

ALICE = "aaaaaaaa-0000-4000-8000-000000000001"
BOB = "aaaaaaaa-0000-4000-8000-000000000002"
GONE = "aaaaaaaa-0000-4000-8000-000000000005"    # soft-deleted, with a mailbox (gone@contoso.com)
ERIN = "aaaaaaaa-0000-4000-8000-000000000006"    # soft-deleted, no mailbox (erin@contoso.com)
READER = "11111111-1111-4111-8111-111111111111"  # User.Read.All (conftest.tenant())
WRITER = "22222222-2222-4222-8222-222222222222"  # User.ReadWrite.All


def graph_error(answer):
    return answer.json()["error"]


def state(lab) -> dict:
    return lab.lab("GET", "/state").json()


def _deleted_ids(lab, cast="microsoft.graph.user") -> set[str]:
    answer = lab.graph("GET", "/directory/deletedItems/" + cast)
    assert answer.status_code == 200, answer.text
    return {u["id"] for u in answer.json()["value"]}


def _new_user(upn: str) -> dict:
    return {"accountEnabled": True, "displayName": upn.split("@")[0], "mailNickname": upn.split("@")[0],
            "userPrincipalName": upn, "passwordProfile": {"password": "Lab-Passw0rd!x"}}


def test_listing_without_a_cast_is_refused(lab):
    answer = lab.graph("GET", "/directory/deletedItems")
    assert answer.status_code == 400
    assert "microsoft.graph.user" in graph_error(answer)["message"]


@pytest.mark.parametrize("cast", ["microsoft.graph.user", "graph.user"])
def test_listing_with_either_cast(lab, cast):
    # msgraph-sdk uses the alias graph.user (LAB-NOTES).
    assert _deleted_ids(lab, cast) == {GONE, ERIN}


def test_get_deleted_item(lab):
    answer = lab.graph("GET", "/directory/deletedItems/" + GONE)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == GONE and body["@odata.type"] == "#microsoft.graph.user"
    assert body["deletedDateTime"]


def test_get_active_user_under_deleted_items_is_404(lab):
    answer = lab.graph("GET", "/directory/deletedItems/" + ALICE)
    assert answer.status_code == 404
    assert ALICE in graph_error(answer)["message"]


def test_delete_user_moves_it_to_deleted_items(lab):
    assert lab.graph("DELETE", "/users/" + BOB, client_id=WRITER).status_code == 204
    assert lab.graph("GET", "/users/" + BOB).status_code == 404
    assert BOB in _deleted_ids(lab)
    deleted = lab.graph("GET", "/directory/deletedItems/" + BOB).json()
    assert deleted["deletedDateTime"].startswith("20")


def test_purge_is_irreversible(lab):
    assert lab.graph("DELETE", "/directory/deletedItems/" + GONE).status_code == 204
    answer = lab.graph("GET", "/directory/deletedItems/" + GONE)
    assert answer.status_code == 404
    assert graph_error(answer)["code"] == "Request_ResourceNotFound"
    answer = lab.graph("POST", "/directory/deletedItems/%s/restore" % GONE, json={})
    assert answer.status_code == 404
    assert GONE in graph_error(answer)["message"]
    assert GONE not in {u["id"] for u in state(lab)["users"]}


def test_purge_frees_the_mailbox_addresses(lab):
    # Before the purge the soft-deleted mailbox holds gone@contoso.com.
    assert lab.graph("PATCH", "/users/" + BOB, json={"mail": "gone@contoso.com"}).status_code == 400
    assert lab.graph("DELETE", "/directory/deletedItems/" + GONE).status_code == 204
    assert lab.graph("PATCH", "/users/" + BOB, json={"mail": "gone@contoso.com"}).status_code == 204


def test_user_read_all_app_cannot_purge(lab):
    before = state(lab)
    answer = lab.graph("DELETE", "/directory/deletedItems/" + GONE, client_id=READER)
    assert answer.status_code == 403
    assert graph_error(answer)["code"] == "Authorization_RequestDenied"
    assert state(lab) == before


def test_restore_with_a_taken_upn_needs_a_new_upn(lab):
    assert lab.graph("POST", "/users", json=_new_user("gone@contoso.com")).status_code == 201
    before = state(lab)
    answer = lab.graph("POST", "/directory/deletedItems/%s/restore" % GONE, json={})
    assert answer.status_code == 400
    assert any(d["target"] == "userPrincipalName" for d in graph_error(answer)["details"])
    assert state(lab) == before
    answer = lab.graph("POST", "/directory/deletedItems/%s/restore" % GONE,
                       json={"newUserPrincipalName": "gone2@contoso.com"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["userPrincipalName"] == "gone2@contoso.com"
    assert lab.user(GONE)["userPrincipalName"] == "gone2@contoso.com"
    assert GONE not in _deleted_ids(lab)


def test_restore_with_a_taken_address_needs_auto_reconcile(lab):
    # erin@ is free while Erin is deleted (no mailbox); Bob takes it.
    assert lab.graph("PATCH", "/users/" + BOB, json={"mail": "erin@contoso.com"}).status_code == 204
    before = state(lab)
    answer = lab.graph("POST", "/directory/deletedItems/%s/restore" % ERIN, json={})
    assert answer.status_code == 400
    assert any(d["target"] == "proxyAddresses" for d in graph_error(answer)["details"])
    assert state(lab) == before
    answer = lab.graph("POST", "/directory/deletedItems/%s/restore" % ERIN, json={"autoReconcileProxyConflict": True})
    assert answer.status_code == 200, answer.text
    erin = lab.user(ERIN)
    assert "erin@contoso.com" not in {p.split(":", 1)[1].lower() for p in erin["proxyAddresses"]}
    assert lab.user(BOB)["mail"] == "erin@contoso.com"


def test_users_deleted_more_than_30_days_ago_vanish(lab):
    assert lab.graph("DELETE", "/users/" + BOB).status_code == 204
    lab.lab("PATCH", "/config", json={"clock_offset": 31 * 86400})
    lab._tokens.clear()  # tokens issued before the jump have expired
    assert _deleted_ids(lab) == set()
    for key in (BOB, GONE, ERIN):
        assert lab.graph("GET", "/directory/deletedItems/" + key).status_code == 404
    # Gone's mailbox went with it: its address is free.
    assert lab.graph("PATCH", "/users/" + ALICE, json={"mail": "gone@contoso.com"}).status_code == 204


def test_a_user_deleted_29_days_ago_is_kept(lab):
    assert lab.graph("DELETE", "/users/" + BOB).status_code == 204
    lab.lab("PATCH", "/config", json={"clock_offset": 29 * 86400})
    lab._tokens.clear()
    assert BOB in _deleted_ids(lab)


def test_a_just_deleted_user_reaches_the_recycle_bin_after_the_configured_lag(lab):
    assert lab.lab("PATCH", "/config", json={"recycle_bin_lag_s": 2}).status_code == 200
    assert lab.graph("DELETE", "/users/" + BOB).status_code == 204
    listing = "/directory/deletedItems/microsoft.graph.user"
    assert BOB not in [u["id"] for u in lab.graph("GET", listing).json()["value"]]
    assert lab.graph("DELETE", "/directory/deletedItems/" + BOB).status_code == 404
    time.sleep(3)
    assert BOB in [u["id"] for u in lab.graph("GET", listing).json()["value"]]
    assert lab.graph("DELETE", "/directory/deletedItems/" + BOB).status_code == 204

"""entra_immutable_id's main() offline, through the shared module base and converge engine.

The Graph client is the real one, over an httpx MockTransport that plays a small tenant: it
answers the ``$filter`` lookups (inside ``$batch`` or not), the recycle bin, role assignments,
domains, the sync features and the PATCHes, and logs every write.
"""

import json
import re
import uuid
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._module.base import SyncfixModule
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphClient
from ansible_collections.syncfix.entra.plugins.modules import entra_immutable_id

from module_runner import run_module

AUTH = dict(tenant_id="contoso", client_id="app", access_token="token")
NEW_HIRE_GUID = "3ab39606-c642-489b-84b6-58c038d3ef39"
NEW_HIRE = "BpazOkLGm0iEtljAONPvOQ=="
OTHER = "RDHiRneDPkiofrZ2nbYu7Q=="
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def cloud_user(upn, **graph):
    user = {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, upn)), "userPrincipalName": upn,
            "mail": upn, "proxyAddresses": ["SMTP:" + upn], "onPremisesImmutableId": None,
            "onPremisesSyncEnabled": None, "onPremisesObjectIdentifier": None}
    user.update(graph)
    return user


class FakeTenant:
    """The Graph endpoint of a tenant, as an httpx handler."""

    def __init__(self, *users, deleted=(), roles=None, domains=None, features=None, fail=None):
        self.users = dict((u["id"], u) for u in users)
        self.deleted = list(deleted)
        self.roles = roles or {}  # {user id: [role definition id]}
        self.domains = domains if domains is not None else [
            {"id": "contoso.com", "authenticationType": "Managed"},
            {"id": "fed.contoso.com", "authenticationType": "Federated"},
            {"id": "contoso.onmicrosoft.com", "authenticationType": "Managed", "isInitial": True}]
        self.features = features if features is not None else {}
        self.fail = fail or (lambda method, path, body: None)  # (status, code) to answer instead
        self.log = []  # (method, path, body) of every request, $batch items unpacked
        self.batches = []  # the methods of each $batch's items
        self.lost_envelopes = {}  # {n: "before" or "after"}: the nth write $batch loses its connection

    def client(self):
        return GraphClient("https://graph.test", type("Token", (), {"get": lambda self: "token"})(),
                           transport=httpx.MockTransport(self.handle), sleep=lambda seconds: None)

    def writes(self):
        return [(method, path, body) for method, path, body in self.log if method != "GET"]

    def by_upn(self, upn):
        return [u for u in self.users.values() if u["userPrincipalName"] == upn][0]

    # -- HTTP -------------------------------------------------------------------------------

    def handle(self, request):
        body = json.loads(request.content) if request.content else None
        path = request.url.raw_path.decode().split("/v1.0", 1)[1]
        if request.method == "POST" and path == "/$batch":
            methods = [item["method"] for item in body["requests"]]
            self.batches.append(methods)
            lost = self.lost_envelopes.get(sum(1 for b in self.batches if "PATCH" in b)) if "PATCH" in methods else None
            if lost == "before":
                raise httpx.ReadError("connection reset by peer")
            answers = []
            for item in body["requests"]:
                status, answer = self.answer(item["method"], item["url"], item.get("body"))
                answers.append({"id": item["id"], "status": status, "headers": {}, "body": answer})
            if lost == "after":
                raise httpx.RemoteProtocolError("server disconnected without sending a response")
            return httpx.Response(200, json={"responses": answers})
        status, answer = self.answer(request.method, path, body)
        return httpx.Response(status, json=answer) if answer is not None else httpx.Response(status)

    def answer(self, method, url, body):
        self.log.append((method, urlsplit(url).path, body))
        failure = self.fail(method, url, body)
        if failure:
            return failure[0], {"error": {"code": failure[1], "message": "refused by the test"}}
        parts = urlsplit(url)
        query = dict((k, v[0]) for k, v in parse_qs(parts.query).items())
        if method == "PATCH":
            user = self.users[parts.path.rsplit("/", 1)[1]]
            user.update(body)
            return 204, None
        if parts.path == "/users":
            return 200, {"value": self.select(query["$filter"])}
        if parts.path == "/directory/deletedItems/microsoft.graph.user":
            return 200, {"value": self.deleted}
        if parts.path == "/domains":
            return 200, {"value": self.domains}
        if parts.path == "/directory/onPremisesSynchronization":
            if self.features == 403:
                return 403, {"error": {"code": "Authorization_RequestDenied", "message": "no"}}
            return 200, {"value": [{"features": self.features}]}
        if parts.path.endswith("/memberOf") or parts.path.endswith("/members"):
            return 200, {"value": []}
        if parts.path == "/roleManagement/directory/roleDefinitions":
            return 200, {"value": [{"id": GLOBAL_ADMINISTRATOR, "displayName": "Global Administrator"}]}
        if parts.path.startswith("/roleManagement/directory/"):
            active = parts.path.endswith("roleAssignments")
            return 200, {"value": [{"principalId": p, "roleDefinitionId": r}
                                   for p, held in self.roles.items() for r in held if active]}
        raise AssertionError("FakeTenant does not know %s %s" % (method, url))

    def select(self, expression):
        values = [v.replace("''", "'").lower() for v in _QUOTED.findall(expression)]
        if expression.startswith("proxyAddresses/any"):
            return [u for u in self.users.values() if set(values) & set(p.lower() for p in u["proxyAddresses"])]
        field = expression.split(" ", 1)[0]
        return [u for u in self.users.values() if (u.get(field) or "").lower() in values]


def run(tenant, check_mode=False, diff=False, **args):
    """The module's result, with the warnings it gave (Ansible's own list depends on where it runs)."""
    warned = []
    with mock.patch.object(SyncfixModule, "warn", lambda self, msg: warned.append(msg)):
        result = run_module(entra_immutable_id.main, dict(AUTH, **args), check_mode=check_mode, diff=diff,
                            graph=tenant.client())
    result["warnings"] = warned
    return result


def test_stamp_then_again_is_unchanged():
    tenant = FakeTenant(cloud_user("vp@contoso.com"))
    result = run(tenant, diff=True, user="vp@contoso.com", object_guid=NEW_HIRE_GUID)
    assert result["changed"] is True and not result.get("failed"), result
    (item,) = result["results"]
    assert item["msg"] == "set onPremisesImmutableId" and item["id"] == tenant.by_upn("vp@contoso.com")["id"]
    assert item["before"] == {"immutable_id": None, "guid": None}
    assert item["after"] == {"immutable_id": NEW_HIRE, "guid": NEW_HIRE_GUID}
    assert result["diff"] == {  # structured, per user: UPN, immutable id, GUID; the unset id is left out
        "before": {"vp@contoso.com": {"userPrincipalName": "vp@contoso.com"}},
        "after": {"vp@contoso.com": {"userPrincipalName": "vp@contoso.com", "onPremisesImmutableId": NEW_HIRE,
                                     "anchor_guid": NEW_HIRE_GUID}}}
    assert [body for method, path, body in tenant.writes()] == [{"onPremisesImmutableId": NEW_HIRE}]

    again = run(tenant, user="vp@contoso.com", object_guid=NEW_HIRE_GUID)
    assert again["changed"] is False and again["results"][0]["msg"] == "already as requested"
    assert len(tenant.writes()) == 1


def test_check_mode_writes_nothing_and_says_would():
    tenant = FakeTenant(cloud_user("vp@contoso.com"), cloud_user("old@contoso.com", onPremisesImmutableId=OTHER))
    result = run(tenant, check_mode=True, diff=True, force=True, users=[
        dict(user="vp@contoso.com", immutable_id=NEW_HIRE), dict(user="old@contoso.com", state="absent")])
    assert result["changed"] is True and not result.get("failed"), result
    assert [r["msg"] for r in result["results"]] == ["would set onPremisesImmutableId",
                                                     "would clear onPremisesImmutableId"]
    assert result["diff"]["after"] == {
        "old@contoso.com": {"userPrincipalName": "old@contoso.com"},
        "vp@contoso.com": {"userPrincipalName": "vp@contoso.com", "onPremisesImmutableId": NEW_HIRE,
                           "anchor_guid": NEW_HIRE_GUID}}
    assert tenant.writes() == []


def test_plain_stamps_and_clears_go_out_in_one_batch():
    tenant = FakeTenant(cloud_user("ann@contoso.com"), cloud_user("bob@contoso.com"),
                        cloud_user("old@contoso.com", onPremisesImmutableId=OTHER))
    users = [dict(user="ann@contoso.com", immutable_id=NEW_HIRE),
             dict(user="bob@contoso.com", consistency_guid="0d9f3a52-0000-4000-8000-00000000a001"),
             dict(user="old@contoso.com", state="absent")]
    result = run(tenant, force=True, users=users)
    assert result["changed"] is True and all(r["changed"] for r in result["results"]), result
    assert [b for b in tenant.batches if "PATCH" in b] == [["PATCH", "PATCH", "PATCH"]], "one $batch, not one per user"
    assert tenant.by_upn("old@contoso.com")["onPremisesImmutableId"] is None
    assert tenant.by_upn("ann@contoso.com")["onPremisesImmutableId"] == NEW_HIRE


def test_a_refusal_fails_its_item_only_and_the_others_are_written():
    # Issue 26: opt-ins are per item, so each item is decided on its own; a refused item fails
    # with its reason (found before the first write) and does not hold back the others.
    tenant = FakeTenant(cloud_user("plain@contoso.com"), cloud_user("synced@contoso.com", onPremisesSyncEnabled=True),
                        cloud_user("admin@contoso.com"), roles={})
    tenant.roles[tenant.by_upn("admin@contoso.com")["id"]] = [GLOBAL_ADMINISTRATOR]
    users = [dict(user="plain@contoso.com", immutable_id=NEW_HIRE),
             dict(user="synced@contoso.com", immutable_id=OTHER),
             dict(user="admin@contoso.com", object_guid="0d9f3a52-0000-4000-8000-00000000a001",
                  allow_role_holder=True, force=True)]
    checked = run(tenant, check_mode=True, diff=True, users=users)
    assert checked["failed"] is True and tenant.writes() == [], checked
    assert [r["msg"] for r in checked["results"]][0] == "would set onPremisesImmutableId"
    assert list(checked["diff"]["after"]) == ["plain@contoso.com"]

    result = run(tenant, diff=True, users=users)
    assert result["failed"] is True and result["changed"] is True, result
    plain, synced, admin = result["results"]
    assert plain["changed"] is True and not plain.get("failed") and plain["msg"] == "set onPremisesImmutableId"
    assert synced["failed"] is True and "synced from on-premises" in synced["msg"]
    assert synced["error"]["kind"] == "refused" and synced["after"] == synced["before"]
    assert admin["failed"] is True and "labelled PRIVILEGED" in admin["msg"], "no opt-in lifts a PRIVILEGED role"
    assert "Global Administrator (%s)" % GLOBAL_ADMINISTRATOR in admin["msg"]
    assert list(result["diff"]["after"]) == ["plain@contoso.com"]
    assert tenant.writes() == [("PATCH", "/users/" + tenant.by_upn("plain@contoso.com")["id"],
                                {"onPremisesImmutableId": NEW_HIRE})]


def test_a_value_held_by_a_soft_deleted_user_is_refused():
    tenant = FakeTenant(cloud_user("vp@contoso.com"),
                        deleted=[cloud_user("gone@contoso.com", onPremisesImmutableId=NEW_HIRE)])
    result = run(tenant, user="vp@contoso.com", immutable_id=NEW_HIRE)
    assert result["failed"] is True and "soft-deleted: purge it" in result["results"][0]["msg"], result
    assert tenant.writes() == []


def test_federated_user_moves_its_upn_and_back_after_the_batch():
    tenant = FakeTenant(cloud_user("fed@fed.contoso.com"), cloud_user("vp@contoso.com"))
    fed_id = tenant.by_upn("fed@fed.contoso.com")["id"]
    result = run(tenant, federated_upn_workaround=True, users=[
        dict(user="fed@fed.contoso.com", immutable_id=OTHER), dict(user="vp@contoso.com", immutable_id=NEW_HIRE)])
    assert result["changed"] is True and not result.get("failed"), result
    fed, plain = result["results"]
    assert fed["msg"] == "set onPremisesImmutableId (UPN moved to contoso.onmicrosoft.com and back)"
    assert plain["msg"] == "set onPremisesImmutableId"
    assert tenant.writes() == [
        ("PATCH", "/users/" + tenant.by_upn("vp@contoso.com")["id"], {"onPremisesImmutableId": NEW_HIRE}),
        ("PATCH", "/users/" + fed_id, {"userPrincipalName": "fed@contoso.onmicrosoft.com"}),
        ("PATCH", "/users/" + fed_id, {"onPremisesImmutableId": OTHER}),
        ("PATCH", "/users/" + fed_id, {"userPrincipalName": "fed@fed.contoso.com"}),
    ]


def test_without_the_workaround_a_federated_user_is_refused():
    tenant = FakeTenant(cloud_user("fed@fed.contoso.com"))
    result = run(tenant, user="fed@fed.contoso.com", immutable_id=OTHER)
    assert result["failed"] is True and "federated_upn_workaround: true" in result["results"][0]["msg"]
    assert tenant.writes() == []


def test_no_initial_domain_fails_before_any_write():
    tenant = FakeTenant(cloud_user("fed@fed.contoso.com"), cloud_user("vp@contoso.com"),
                        domains=[{"id": "fed.contoso.com", "authenticationType": "Federated"}])
    result = run(tenant, federated_upn_workaround=True, users=[
        dict(user="vp@contoso.com", immutable_id=NEW_HIRE), dict(user="fed@fed.contoso.com", immutable_id=OTHER)])
    assert result["failed"] is True
    assert result["msg"] == ("the tenant's initial onmicrosoft.com domain was not found in /domains; cannot move "
                             "UPNs")
    assert tenant.writes() == []


def test_a_failed_batch_item_fails_that_item_only():
    tenant = FakeTenant(cloud_user("ann@contoso.com"), cloud_user("bob@contoso.com"))
    bob = tenant.by_upn("bob@contoso.com")["id"]
    tenant.fail = lambda method, url, body: (403, "Authorization_RequestDenied") if (
        method == "PATCH" and url.endswith(bob)) else None
    result = run(tenant, users=[dict(user="ann@contoso.com", immutable_id=NEW_HIRE),
                                dict(user="bob@contoso.com", immutable_id=OTHER)])
    assert result["failed"] is True and result["changed"] is True, result
    ann, bob_result = result["results"]
    assert ann["changed"] is True and not ann.get("failed")
    assert bob_result["changed"] is False and bob_result["after"] == bob_result["before"]
    assert bob_result["error"]["kind"] == "graph" and bob_result["error"]["status"] == 403
    assert "Authorization_RequestDenied" in bob_result["msg"]
    assert "1 of 2 items failed" in result["msg"] and "Done: ann@contoso.com" in result["msg"]


def test_a_failed_stamp_restores_the_federated_upn():
    tenant = FakeTenant(cloud_user("fed@fed.contoso.com", onPremisesImmutableId=NEW_HIRE))
    tenant.fail = lambda method, url, body: (400, "Request_BadRequest") if (
        body and "onPremisesImmutableId" in body) else None
    result = run(tenant, user="fed@fed.contoso.com", immutable_id=OTHER, force=True, federated_upn_workaround=True)
    (item,) = result["results"]
    assert result["failed"] is True and item["changed"] is False and item["error"]["kind"] == "graph", result
    assert "set onPremisesImmutableId" in item["msg"]
    assert [b["userPrincipalName"] for m, p, b in tenant.writes() if "userPrincipalName" in b] == [
        "fed@contoso.onmicrosoft.com", "fed@fed.contoso.com"]
    assert tenant.by_upn("fed@fed.contoso.com")["onPremisesImmutableId"] == NEW_HIRE


def test_a_failed_move_back_after_the_stamp_says_the_value_was_set():
    tenant = FakeTenant(cloud_user("fed@fed.contoso.com", onPremisesImmutableId=NEW_HIRE))
    tenant.fail = lambda method, url, body: (500, "InternalServerError") if (
        body == {"userPrincipalName": "fed@fed.contoso.com"}) else None
    result = run(tenant, user="fed@fed.contoso.com", immutable_id=OTHER, force=True, federated_upn_workaround=True)
    (item,) = result["results"]
    assert result["failed"] is True and item["changed"] is True, result
    assert item["after"]["immutable_id"] == OTHER
    assert "onPremisesImmutableId was set, but the user is left as fed@contoso.onmicrosoft.com" in item["msg"]

    # Run again, as the message says: the user is found on its temporary UPN holding the value,
    # and only the move back is sent.
    tenant.fail = lambda method, url, body: None
    before = len(tenant.writes())
    again = run(tenant, diff=True, user="fed@fed.contoso.com", immutable_id=OTHER, force=True,
                federated_upn_workaround=True)
    (item,) = again["results"]
    assert again["changed"] is True and not again.get("failed"), again
    assert item["msg"].startswith("move UPN back from fed@contoso.onmicrosoft.com")
    assert [body for method, path, body in tenant.writes()[before:]] == [{"userPrincipalName": "fed@fed.contoso.com"}]
    assert tenant.by_upn("fed@fed.contoso.com")["onPremisesImmutableId"] == OTHER
    (key,) = again["diff"]["before"]
    assert again["diff"]["before"][key]["userPrincipalName"] == "fed@contoso.onmicrosoft.com"
    assert again["diff"]["after"][key]["userPrincipalName"] == "fed@fed.contoso.com"
    assert again["diff"]["after"][key]["onPremisesImmutableId"] == OTHER
    third = run(tenant, user="fed@fed.contoso.com", immutable_id=OTHER, force=True, federated_upn_workaround=True)
    assert third["changed"] is False


def test_a_temporary_upn_user_without_the_value_is_not_taken_for_the_stranded_one():
    tenant = FakeTenant(cloud_user("fed@contoso.onmicrosoft.com", onPremisesImmutableId=OTHER))
    result = run(tenant, user="fed@fed.contoso.com", immutable_id=NEW_HIRE, federated_upn_workaround=True)
    assert result["failed"] is True and "no cloud user has this UPN" in result["msg"] and tenant.writes() == []


def test_bad_input_fails_before_any_request():
    tenant = FakeTenant(cloud_user("vp@contoso.com"))
    result = run(tenant, users=[dict(user="vp@contoso.com", object_guid="not-a-guid"),
                                dict(user="bob@contoso.com", immutable_id=OTHER),
                                dict(user="BOB@contoso.com", state="absent")])
    assert result["failed"] is True and result["error"]["kind"] == "input"
    assert result["msg"].startswith("invalid input, nothing was changed: vp@contoso.com:")
    assert "BOB@contoso.com: listed twice" in result["msg"]
    assert tenant.log == []


def test_two_anchors_for_one_user_is_an_argument_error():
    tenant = FakeTenant(cloud_user("ann@contoso.com"))
    result = run(tenant, user="ann@contoso.com", immutable_id=NEW_HIRE, consistency_guid=NEW_HIRE_GUID)
    assert result["failed"] is True and "mutually exclusive: immutable_id|consistency_guid" in result["msg"], result
    assert tenant.log == []


def test_two_anchors_in_one_item_are_refused_naming_the_item():
    tenant = FakeTenant(cloud_user("ann@contoso.com"), cloud_user("bob@contoso.com"))
    result = run(tenant, users=[dict(user="bob@contoso.com", immutable_id=OTHER),
                                dict(user="ann@contoso.com", immutable_id=NEW_HIRE, consistency_guid=NEW_HIRE_GUID)])
    assert result["failed"] is True and result["error"]["kind"] == "input"
    assert "ann@contoso.com: state=present takes one of immutable_id and consistency_guid" in result["msg"], result
    assert tenant.log == []


def test_an_unknown_user_is_named_and_nothing_is_written():
    tenant = FakeTenant(cloud_user("vp@contoso.com"))
    result = run(tenant, users=[dict(user="vp@contoso.com", immutable_id=NEW_HIRE),
                                dict(user="nobody@contoso.com", immutable_id=OTHER)])
    assert result["failed"] is True and result["error"]["kind"] == "input"
    assert "nobody@contoso.com: no cloud user has this UPN, object id or SMTP address" in result["msg"]
    assert "lookup_failure_action" in result["msg"], "the failure names the opt-out"
    assert tenant.writes() == []


@pytest.mark.parametrize("action", ["warn", "ignore"])
def test_with_lookup_failure_action_an_unknown_user_is_skipped_and_the_others_are_stamped(action):
    tenant = FakeTenant(cloud_user("vp@contoso.com"))
    result = run(tenant, lookup_failure_action=action, users=[dict(user="vp@contoso.com", immutable_id=NEW_HIRE),
                                                              dict(user="nobody@contoso.com", immutable_id=OTHER)])
    assert not result.get("failed") and result["changed"] is True, result
    stamped, skipped = result["results"]
    warned = result.pop("warnings")
    assert stamped["item"] == "vp@contoso.com" and stamped["changed"] is True
    assert skipped == {"item": "nobody@contoso.com", "changed": False, "found": False,
                       "msg": "skipped: no cloud user has this UPN, object id or SMTP address "
                              "(lookup_failure_action: %s)" % action}
    assert [body for method, path, body in tenant.writes()] == [{"onPremisesImmutableId": NEW_HIRE}]
    assert [w for w in warned if "nobody@contoso.com" in w] == ([] if action == "ignore" else [mock.ANY])


def test_a_graph_error_while_reading_fails_the_task_with_error():
    tenant = FakeTenant(cloud_user("vp@contoso.com"))
    tenant.fail = lambda method, url, body: (403, "Authorization_RequestDenied") if url.startswith("/domains") else None
    result = run(tenant, user="vp@contoso.com", immutable_id=NEW_HIRE)
    assert result["failed"] is True and result["msg"].endswith("; nothing was changed"), result
    assert result["error"]["kind"] == "graph" and result["error"]["code"] == "Authorization_RequestDenied"
    assert tenant.writes() == []


@pytest.mark.parametrize("features,refused", [({"blockCloudObjectTakeoverThroughHardMatchEnabled": True}, True),
                                              (403, False)], ids=["blocked", "unreadable"])
def test_the_sync_features_refuse_or_warn(features, refused):
    tenant = FakeTenant(cloud_user("vp@contoso.com"), features=features)
    result = run(tenant, user="vp@contoso.com", object_guid=NEW_HIRE_GUID)
    if refused:
        assert result["failed"] is True and "InvalidHardMatch" in result["results"][0]["msg"]
        assert tenant.writes() == []
    else:
        assert result["changed"] is True and not result.get("failed"), result
        assert any("OnPremDirectorySynchronization.Read.All" in w for w in result["warnings"]), result["warnings"]


def test_one_user_named_three_ways_gets_no_write_at_all():
    # ann's UPN, her object id and her alias, each with another anchor: three PATCHes to one
    # user, the last one winning, unless they are refused together.
    tenant = FakeTenant(cloud_user("ann@contoso.com", proxyAddresses=["SMTP:ann@contoso.com", "smtp:a@contoso.com"]))
    ann = tenant.by_upn("ann@contoso.com")["id"]
    result = run(tenant, users=[dict(user="ann@contoso.com", immutable_id=NEW_HIRE),
                                dict(user=ann, immutable_id=OTHER),
                                dict(user="a@contoso.com", object_guid="0d9f3a52-0000-4000-8000-00000000a001")])
    assert result["failed"] is True and tenant.writes() == []
    assert all(r["failed"] and r["error"]["kind"] == "refused" for r in result["results"])
    assert "'ann@contoso.com' and '%s', 'a@contoso.com' name the same object" % ann in result["results"][0]["msg"]


@pytest.mark.parametrize("lost", ["before", "after"])
def test_a_lost_batch_envelope_is_settled_by_reading_the_users_back(lost):
    # 25 stamps go out in two envelopes; the second loses its connection before or after Graph
    # carried it out.  Read back, a stamp that landed is done; one that did not was never
    # carried out, so it is sent again.  Every stamp lands once, none twice.
    people = [cloud_user("u%02d@contoso.com" % n) for n in range(25)]
    tenant = FakeTenant(*people)
    tenant.lost_envelopes = {2: lost}
    anchors = [str(uuid.uuid5(uuid.NAMESPACE_URL, p["id"])) for p in people]
    result = run(tenant, users=[dict(user=p["userPrincipalName"], object_guid=a) for p, a in zip(people, anchors)])
    carried_out = [w[1] for w in tenant.writes() if w[0] == "PATCH"]
    assert sorted(carried_out) == sorted(set(carried_out)) and len(carried_out) == 25, "each stamp carried out once"
    assert all(r["changed"] and not r.get("failed") for r in result["results"]), result["results"]
    assert not result.get("failed")
    again = run(tenant, users=[dict(user=p["userPrincipalName"], object_guid=a) for p, a in zip(people, anchors)])
    assert sum(r["changed"] for r in again["results"]) == 0


def test_a_stamp_that_never_lands_fails_after_its_resends_naming_it():
    people = [cloud_user("u%02d@contoso.com" % n) for n in range(3)]
    tenant = FakeTenant(*people)
    tenant.lost_envelopes = dict((n, "before") for n in range(1, 10))
    anchors = [str(uuid.uuid5(uuid.NAMESPACE_URL, p["id"])) for p in people]
    result = run(tenant, users=[dict(user=p["userPrincipalName"], object_guid=a) for p, a in zip(people, anchors)])
    assert [w for w in tenant.writes() if w[0] == "PATCH"] == []
    assert result["failed"] is True and all("not written" in r["msg"] and not r["changed"] for r in result["results"])


# --- issue 26: role holders and per-item opt-ins ----------------------------------------------

EXCHANGE_ADMINISTRATOR = "29232cdf-9323-42fd-ade2-1d097af3e4de"  # no PRIVILEGED label


def test_clearing_a_global_administrators_anchor_is_refused_even_with_force():
    # Finding 3: the roles were read for stamps only, so this clear went through.
    tenant = FakeTenant(cloud_user("admin@contoso.com", onPremisesImmutableId=OTHER))
    tenant.roles[tenant.by_upn("admin@contoso.com")["id"]] = [GLOBAL_ADMINISTRATOR]
    result = run(tenant, user="admin@contoso.com", state="absent", force=True, allow_role_holder=True)
    (item,) = result["results"]
    assert result["failed"] is True and item["error"]["kind"] == "refused", result
    assert "labelled PRIVILEGED" in item["msg"] and "even with force" in item["msg"]
    assert "Global Administrator (%s)" % GLOBAL_ADMINISTRATOR in item["msg"]
    assert tenant.writes() == [] and tenant.by_upn("admin@contoso.com")["onPremisesImmutableId"] == OTHER


def test_clearing_a_role_holders_anchor_needs_allow_role_holder():
    tenant = FakeTenant(cloud_user("mail-admin@contoso.com", onPremisesImmutableId=OTHER))
    tenant.roles[tenant.by_upn("mail-admin@contoso.com")["id"]] = [EXCHANGE_ADMINISTRATOR]
    refused = run(tenant, user="mail-admin@contoso.com", state="absent", force=True)
    assert refused["failed"] is True and "allow_role_holder: true" in refused["results"][0]["msg"], refused
    assert EXCHANGE_ADMINISTRATOR in refused["results"][0]["msg"] and tenant.writes() == []
    cleared = run(tenant, users=[dict(user="mail-admin@contoso.com", state="absent", force=True,
                                      allow_role_holder=True)])
    assert cleared["changed"] is True and not cleared.get("failed"), cleared
    assert tenant.by_upn("mail-admin@contoso.com")["onPremisesImmutableId"] is None


def test_a_role_holder_is_stamped_with_its_items_opt_in_only():
    # Finding 4: force alone stamped an Exchange Administrator; allow_role_holder is per item.
    tenant = FakeTenant(cloud_user("mail-admin@contoso.com"), cloud_user("other-admin@contoso.com"))
    for upn in ("mail-admin@contoso.com", "other-admin@contoso.com"):
        tenant.roles[tenant.by_upn(upn)["id"]] = [EXCHANGE_ADMINISTRATOR]
    result = run(tenant, force=True, users=[
        dict(user="mail-admin@contoso.com", immutable_id=NEW_HIRE, allow_role_holder=True),
        dict(user="other-admin@contoso.com", immutable_id=OTHER)])
    allowed, other = result["results"]
    assert allowed["changed"] is True and not allowed.get("failed"), result
    assert other["failed"] is True and "allow_role_holder: true" in other["msg"]
    assert [body for method, path, body in tenant.writes()] == [{"onPremisesImmutableId": NEW_HIRE}]
    # A hand-written task may still set it once, module-level, for all its items.
    again = run(tenant, allow_role_holder=True, users=[dict(user="other-admin@contoso.com", immutable_id=OTHER)])
    assert again["changed"] is True and not again.get("failed"), again


def test_an_items_force_does_not_reach_the_other_items_of_the_chunk():
    # Finding 5: A's item carries force for its stray value; B's cloud user got a value after
    # the plan and its item has none.  B is refused, A is applied; check mode and a second run
    # write nothing.
    stray = "QF5HMK7n80qvdYsUPIHa9Q=="
    tenant = FakeTenant(cloud_user("a@contoso.com", onPremisesImmutableId=stray),
                        cloud_user("b@contoso.com", onPremisesImmutableId="UjqfDQAAAECAAAAAAACwAg=="))
    users = [dict(user="a@contoso.com", immutable_id=NEW_HIRE, force=True),
             dict(user="b@contoso.com", immutable_id=OTHER)]
    checked = run(tenant, check_mode=True, diff=True, users=users)
    assert tenant.writes() == [] and checked["results"][0]["msg"] == "would set onPremisesImmutableId", checked
    assert checked["results"][1]["failed"] is True
    result = run(tenant, users=users)
    a, b = result["results"]
    assert a["changed"] is True and a["before"]["immutable_id"] == stray and a["after"]["immutable_id"] == NEW_HIRE
    assert b["failed"] is True and b["changed"] is False and "Set force: true to replace it" in b["msg"], b
    assert result["failed"] is True and result["changed"] is True
    assert [body for method, path, body in tenant.writes()] == [{"onPremisesImmutableId": NEW_HIRE}]
    again = run(tenant, users=users)
    assert [r["changed"] for r in again["results"]] == [False, False] and len(tenant.writes()) == 1

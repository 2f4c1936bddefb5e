"""syncfix.entra.entra_immutable_id through ansible-playbook, over HTTPS to the Graph emulator.

Every refusal is checked twice: the message the user reads, and the emulator's request log
showing that no write was sent.
"""

import json

import pytest

import entra_tenant as t

MODULE = "syncfix.entra.entra_immutable_id"
REMAP_ERROR = "Hard match operation blocked due to security hardening. Review OnPremisesObjectIdentifier mapping."
OBJID_GUID = "6c0c2b5e-1111-4111-8111-111111111111"  # objid@contoso.com's onPremisesObjectIdentifier


@pytest.fixture
def graph(graph_lab):
    graph_lab.load(t.tenant())
    return graph_lab


def stamp(graph, **args):
    return {MODULE: dict(graph.auth, **args)}


def test_check_mode_plans_without_writing_then_stamps_once(graph, playbook):
    task = stamp(graph, user="vp@contoso.com", object_guid=t.NEW_HIRE_GUID)

    rc, (planned,) = playbook([task], check=True, diff=True)
    assert rc == 0 and planned["changed"] is True, planned
    assert planned["results"][0]["after"] == {"immutable_id": t.NEW_HIRE, "guid": t.NEW_HIRE_GUID}
    assert planned["diff"]["after"] == {"vp@contoso.com": {"userPrincipalName": "vp@contoso.com",
                                                           "onPremisesImmutableId": t.NEW_HIRE,
                                                           "anchor_guid": t.NEW_HIRE_GUID}}
    assert graph.writes() == []
    assert graph.users()["vp@contoso.com"].get("onPremisesImmutableId") is None

    rc, (applied,) = playbook([task], diff=True)
    assert rc == 0 and applied["changed"] is True, applied
    assert applied["results"][0]["before"] == {"immutable_id": None, "guid": None}
    assert graph.users()["vp@contoso.com"]["onPremisesImmutableId"] == t.NEW_HIRE
    assert [(w["method"], w["body"]) for w in graph.applied_writes()] == [("PATCH", {"onPremisesImmutableId": t.NEW_HIRE})]

    rc, (again,) = playbook([task])
    assert rc == 0 and again["changed"] is False, again
    assert again["results"][0]["msg"] == "already as requested"
    assert len(graph.writes()) == 1, "the repeat sent no write"


def test_absent_sends_json_null(graph, playbook):
    rc, (refused,) = playbook([stamp(graph, user="stamped@contoso.com", state="absent")])
    assert refused["failed"] is True and "Set force: true to clear it" in refused["msg"] and graph.writes() == []
    rc, (cleared,) = playbook([stamp(graph, user="stamped@contoso.com", state="absent", force=True)])
    assert rc == 0 and cleared["changed"] is True, cleared
    (write,) = graph.writes()
    assert write["body"] == {"onPremisesImmutableId": None}
    assert graph.users()["stamped@contoso.com"].get("onPremisesImmutableId") is None

    rc, (again,) = playbook([stamp(graph, user="stamped@contoso.com", state="absent", force=True)])
    assert rc == 0 and again["changed"] is False


REFUSALS = [
    ("synced user", dict(user="synced@contoso.com", immutable_id=t.NEW_HIRE),
     ["synced@contoso.com is synced from on-premises", "move the AD object out of the sync scope",
      "source of authority", "restore-and-clear"]),
    ("active role", dict(user="admin@contoso.com", immutable_id=t.NEW_HIRE),
     ["admin@contoso.com holds or is eligible for directory roles labelled PRIVILEGED",
      "62e90394-69f5-4237-9190-012177145e10", "security hardening (MC1262584)", "InvalidHardMatch"]),
    ("eligible role", dict(user="eligible@contoso.com", immutable_id=t.NEW_HIRE),
     ["eligible@contoso.com holds or is eligible for directory roles", "fe930be7-5e62-47db-91af-98c3a49a38b1"]),
    ("onPremisesObjectIdentifier", dict(user="objid@contoso.com", immutable_id=t.NEW_HIRE),
     ["objid@contoso.com already has onPremisesObjectIdentifier 6c0c2b5e-1111-4111-8111-111111111111",
      "objectGUID %s" % t.NEW_HIRE_GUID, REMAP_ERROR, "Clear-ADSyncToolsOnPremisesAttribute",
      "allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled"]),
    ("value held by an active user", dict(user="vp@contoso.com", immutable_id=t.HELD),
     ["immutable id %s is already held by holder@contoso.com" % t.HELD]),
    ("value held by a soft-deleted user", dict(user="vp@contoso.com", immutable_id=t.HELD_BY_DELETED),
     ["already held by gone@contoso.com", "soft-deleted: purge it with syncfix.entra.entra_user_purge"]),
    ("different value without force", dict(user="stamped@contoso.com", immutable_id=t.NEW_HIRE),
     ["stamped@contoso.com already has immutable id %s" % t.STAMPED, "force: true"]),
    ("federated UPN", dict(user="fed@fed.contoso.com", immutable_id=t.FEDERATED_ANCHOR),
     ["federated domain fed.contoso.com", "federated_upn_workaround: true"]),
]


@pytest.mark.parametrize("args,expected", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusal_names_the_way_out_and_writes_nothing(graph, playbook, args, expected):
    before = graph.users()
    rc, (result,) = playbook([stamp(graph, **args)])
    assert result["failed"] is True, result
    (item,) = result["results"]
    for text in expected:
        assert text in item["msg"], item["msg"]
    assert item["changed"] is False
    assert graph.writes() == []
    assert graph.users() == before


def test_a_refused_item_fails_alone_and_the_others_are_written(graph, playbook):
    # Issue 26: each item is decided with its own opt-ins; a refusal (found before the first
    # write) fails its item and does not hold back the others.
    rc, (result,) = playbook([stamp(graph, users=[
        {"user": "plain@contoso.com", "immutable_id": t.NEW_HIRE},
        {"user": "synced@contoso.com", "immutable_id": t.OTHER},
    ])])
    assert result["failed"] is True and result["changed"] is True, result
    plain, synced = result["results"]
    assert plain["changed"] is True and not plain.get("failed")
    assert synced["failed"] is True and synced["changed"] is False
    assert [(w["path"], w["body"]) for w in graph.writes()] == [
        ("/users/%s" % graph.users()["plain@contoso.com"]["id"], {"onPremisesImmutableId": t.NEW_HIRE})]


def test_a_user_with_only_a_non_privileged_role_is_stamped_with_its_items_opt_in(graph_lab, playbook):
    # MC1262584 blocks privileged roles only; Exchange Administrator carries no PRIVILEGED label,
    # but linking the account hands the role over: the item must say allow_role_holder (issue 26).
    tenant = t.tenant()
    tenant["users"].append(t.user("exchange@contoso.com", roles=[{"name": "Exchange Administrator"}]))
    graph_lab.load(tenant)
    rc, (refused,) = playbook([stamp(graph_lab, user="exchange@contoso.com", immutable_id=t.NEW_HIRE, force=True)])
    assert refused["failed"] is True and "allow_role_holder: true" in refused["results"][0]["msg"], refused
    assert "Exchange Administrator" in refused["results"][0]["msg"] and graph_lab.writes() == []
    rc, (result,) = playbook([stamp(graph_lab, users=[
        {"user": "exchange@contoso.com", "immutable_id": t.NEW_HIRE, "allow_role_holder": True}])])
    assert rc == 0 and result["changed"] is True, result


LATE = t.immutable_id("0d9f3a52-0000-4000-8000-00000000a006")  # stamped on late@ after the plan


def test_one_chunk_each_item_with_its_own_force(graph_lab, playbook):
    # Issue 26, finding 5, as the role runs it: one task, one chunk.  stamped@'s item carries
    # force for its stray value; late@'s cloud user got a value after the plan and its item
    # has no force.  late@ is refused, stamped@ is replaced, the results say which.
    users = [{"user": "stamped@contoso.com", "immutable_id": t.NEW_HIRE, "force": True},
             {"user": "late@contoso.com", "immutable_id": t.OTHER}]
    tenant = t.tenant()
    tenant["users"].append(t.user("late@contoso.com"))
    graph_lab.load(tenant)
    rc, (planned,) = playbook([stamp(graph_lab, users=users)], check=True, diff=True)
    assert rc == 0 and [r["msg"] for r in planned["results"]] == ["would set onPremisesImmutableId"] * 2, planned
    assert graph_lab.writes() == []

    # Between the plan and the run, somebody stamps late@contoso.com.
    tenant["users"][-1] = t.user("late@contoso.com", onPremisesImmutableId=LATE)
    graph_lab.load(tenant)
    rc, (checked,) = playbook([stamp(graph_lab, users=users)], check=True)
    assert [r.get("failed", False) for r in checked["results"]] == [False, True] and graph_lab.writes() == []

    rc, (applied,) = playbook([stamp(graph_lab, users=users)], diff=True)
    assert applied["failed"] is True and applied["changed"] is True, applied
    replaced, late = applied["results"]
    assert replaced["changed"] is True and replaced["before"]["immutable_id"] == t.STAMPED
    assert replaced["after"]["immutable_id"] == t.NEW_HIRE and not replaced.get("failed")
    assert late["failed"] is True and late["changed"] is False and "Set force: true to replace it" in late["msg"]
    assert list(applied["diff"]["after"]) == ["stamped@contoso.com"]
    state = graph_lab.users()
    assert state["stamped@contoso.com"]["onPremisesImmutableId"] == t.NEW_HIRE
    assert state["late@contoso.com"]["onPremisesImmutableId"] == LATE
    assert [w["body"] for w in graph_lab.applied_writes()] == [{"onPremisesImmutableId": t.NEW_HIRE}]

    rc, (again,) = playbook([stamp(graph_lab, users=users)])
    assert [r["changed"] for r in again["results"]] == [False, False], again
    assert len(graph_lab.writes()) == 1, "the second run wrote nothing"


def test_clearing_a_role_holder_reads_its_roles(graph_lab, playbook):
    # Issue 26, finding 3: a clear read no roles, so state=absent force=true cleared a Global
    # Administrator's anchor.  A privileged holder is refused whatever the opt-ins; any other
    # role holder needs its item's allow_role_holder.
    tenant = t.tenant()
    tenant["users"] += [
        t.user("ga@contoso.com", onPremisesImmutableId=t.OTHER,
               roles=[{"name": "Global Administrator", "assignment": "active"}]),
        t.user("mail-admin@contoso.com", onPremisesImmutableId=t.FEDERATED_ANCHOR,
               roles=[{"name": "Exchange Administrator", "assignment": "eligible"}]),
    ]
    graph_lab.load(tenant)
    rc, (refused,) = playbook([stamp(graph_lab, users=[
        {"user": "ga@contoso.com", "state": "absent", "force": True, "allow_role_holder": True},
        {"user": "mail-admin@contoso.com", "state": "absent", "force": True}])])
    ga, mail_admin = refused["results"]
    assert ga["failed"] is True and "labelled PRIVILEGED" in ga["msg"] and "even with force" in ga["msg"], refused
    assert mail_admin["failed"] is True and "allow_role_holder: true" in mail_admin["msg"]
    assert graph_lab.writes() == []
    rc, (cleared,) = playbook([stamp(graph_lab, users=[
        {"user": "mail-admin@contoso.com", "state": "absent", "force": True, "allow_role_holder": True}])])
    assert rc == 0 and cleared["changed"] is True, cleared
    assert graph_lab.users()["mail-admin@contoso.com"].get("onPremisesImmutableId") is None
    assert graph_lab.users()["ga@contoso.com"]["onPremisesImmutableId"] == t.OTHER


def test_an_object_identifier_of_the_same_ad_object_is_stamped(graph, playbook):
    # The anchor decodes to the identifier: the hard match remaps nothing.
    rc, (result,) = playbook([stamp(graph, user="objid@contoso.com", object_guid=OBJID_GUID)])
    assert rc == 0 and result["changed"] is True, result
    assert graph.users()["objid@contoso.com"]["onPremisesImmutableId"] == t.immutable_id(OBJID_GUID)


def test_object_guid_names_the_ad_object_of_a_consistency_guid_anchor(graph, playbook):
    # mS-DS-ConsistencyGuid set to another value than the objectGUID: object_guid says which object it is.
    args = dict(user="objid@contoso.com", consistency_guid=t.NEW_HIRE_GUID)
    rc, (refused,) = playbook([stamp(graph, **args)])
    assert refused["failed"] is True and REMAP_ERROR in refused["results"][0]["msg"], refused
    assert graph.writes() == []
    rc, (applied,) = playbook([stamp(graph, object_guid=OBJID_GUID, **args)])
    assert rc == 0 and applied["changed"] is True, applied
    assert [w["body"] for w in graph.applied_writes()] == [{"onPremisesImmutableId": t.NEW_HIRE}]


def test_an_opaque_anchor_needs_object_guid_when_an_identifier_is_set(graph, playbook):
    rc, (typo,) = playbook([stamp(graph, user="objid@contoso.com", immutable_id="EMP-000123")])
    assert typo["failed"] is True and "allow_opaque_anchor" in typo["msg"], "not Base64: refused as a likely typo"
    rc, (refused,) = playbook([stamp(graph, user="objid@contoso.com", immutable_id="EMP-000123", allow_opaque_anchor=True)])
    assert refused["failed"] is True, refused
    assert "set object_guid" in refused["results"][0]["msg"], refused
    assert graph.writes() == []
    rc, (applied,) = playbook([stamp(graph, user="objid@contoso.com", immutable_id="EMP-000123", object_guid=OBJID_GUID,
                                     allow_opaque_anchor=True)])
    assert rc == 0 and applied["changed"] is True, applied


def test_the_remap_feature_lets_another_ad_object_take_the_user(graph_lab, playbook):
    tenant = t.tenant()
    tenant["features"] = dict(tenant.get("features") or {}, allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled=True)
    graph_lab.load(tenant)
    rc, (result,) = playbook([stamp(graph_lab, user="objid@contoso.com", immutable_id=t.NEW_HIRE)])
    assert rc == 0 and result["changed"] is True, result
    assert graph_lab.users()["objid@contoso.com"]["onPremisesImmutableId"] == t.NEW_HIRE


def test_force_replaces_and_returns_the_old_value(graph, playbook):
    rc, (result,) = playbook([stamp(graph, user="stamped@contoso.com", immutable_id=t.NEW_HIRE, force=True)])
    assert rc == 0 and result["changed"] is True, result
    assert result["results"][0]["before"]["immutable_id"] == t.STAMPED
    assert graph.users()["stamped@contoso.com"]["onPremisesImmutableId"] == t.NEW_HIRE


def test_federated_workaround_moves_the_upn_and_back(graph, playbook):
    rc, (result,) = playbook([stamp(graph, user="fed@fed.contoso.com", immutable_id=t.FEDERATED_ANCHOR,
                                    federated_upn_workaround=True)])
    assert rc == 0 and result["changed"] is True, result
    # No password: Graph refuses passwordProfile for a federated user ("Update user"), and the
    # lab app holds no directory role, so a password would also be a 403.
    assert [w["body"] for w in graph.applied_writes()] == [
        {"userPrincipalName": "fed@contoso.onmicrosoft.com"},
        {"onPremisesImmutableId": t.FEDERATED_ANCHOR},
        {"userPrincipalName": "fed@fed.contoso.com"},
    ]
    assert not [w for w in graph.writes() if "passwordProfile" in json.dumps(w["body"])]
    assert "password" not in json.dumps(result["results"])
    assert graph.users()["fed@fed.contoso.com"]["onPremisesImmutableId"] == t.FEDERATED_ANCHOR


def federated_user_with_an_anchor(graph_lab):
    """The test tenant with fed@fed.contoso.com holding an anchor, as a federated user must:
    moving the UPN back onto the federated domain without one is refused."""
    tenant = t.tenant()
    for entry in tenant["users"]:
        if entry["userPrincipalName"] == "fed@fed.contoso.com":
            entry["onPremisesImmutableId"] = t.OTHER
    graph_lab.load(tenant)
    return graph_lab


def test_federated_workaround_restores_the_upn_when_the_stamp_fails(graph_lab, playbook):
    # The UPN move goes through; the stamp loses its connection before Graph carries it out (it
    # is not sent again: its outcome is read back); the module must then move the UPN back.
    graph = federated_user_with_an_anchor(graph_lab)
    graph.lab("POST", "/faults", json={"status": "drop", "count": 1, "method": "PATCH", "path": "^/users/", "skip": 1})
    rc, (result,) = playbook([stamp(graph, user="fed@fed.contoso.com", immutable_id=t.FEDERATED_ANCHOR,
                                    force=True, federated_upn_workaround=True)])
    assert result["failed"] is True, result
    (item,) = result["results"]
    assert item["changed"] is False and "set onPremisesImmutableId" in item["msg"], item
    users = graph.users()
    assert "fed@fed.contoso.com" in users, "the UPN was moved back"
    assert users["fed@fed.contoso.com"].get("onPremisesImmutableId") == t.OTHER
    assert [w["body"]["userPrincipalName"] for w in graph.applied_writes()] == [
        "fed@contoso.onmicrosoft.com", "fed@fed.contoso.com"]


def test_a_federated_move_whose_answer_is_lost_is_read_back_and_the_stamp_goes_on(graph_lab, playbook):
    graph = federated_user_with_an_anchor(graph_lab)
    graph.lab("POST", "/faults", json={"status": "drop_after", "count": 1, "method": "PATCH", "path": "^/users/"})
    rc, (result,) = playbook([stamp(graph, user="fed@fed.contoso.com", immutable_id=t.FEDERATED_ANCHOR,
                                    force=True, federated_upn_workaround=True)])
    assert rc == 0 and result["changed"] is True and not result.get("failed"), result
    assert [sorted(w["body"]) for w in graph.applied_writes()] == [
        ["userPrincipalName"], ["onPremisesImmutableId"], ["userPrincipalName"]], "each PATCH sent once"
    assert graph.users()["fed@fed.contoso.com"]["onPremisesImmutableId"] == t.FEDERATED_ANCHOR


def test_a_lost_batch_answer_is_settled_by_reading_back_not_by_sending_again(graph_lab, playbook):
    graph_lab.load(t.many_users(25))
    users = [dict(user="bulk%05d@contoso.com" % n, immutable_id=t.bulk_anchor(n)) for n in range(25)]
    rc, (planned,) = playbook([stamp(graph_lab, users=users)], check=True)
    reads = len([r for r in graph_lab.requests() if r["path"] == "/$batch"])
    graph_lab.lab("DELETE", "/requests")
    # The second write envelope is carried out, and its answer lost.
    graph_lab.lab("POST", "/faults", json={"status": "drop_after", "count": 1, "method": "POST", "path": "^/\\$batch$",
                                           "skip": reads + 1})
    rc, (result,) = playbook([stamp(graph_lab, users=users)])
    assert rc == 0 and not result.get("failed") and all(r["changed"] for r in result["results"]), result
    patched = [w["path"] for w in graph_lab.writes() if w["method"] == "PATCH"]
    assert len(patched) == 25 == len(set(patched)), "every user written once"
    rc, (again,) = playbook([stamp(graph_lab, users=users)])
    assert again["changed"] is False


def test_absent_on_a_federated_upn_is_refused_before_any_write(graph_lab, playbook):
    graph = federated_user_with_an_anchor(graph_lab)
    before = graph.users()
    rc, (result,) = playbook([stamp(graph, user="fed@fed.contoso.com", state="absent")])
    assert result["failed"] is True, result
    (item,) = result["results"]
    assert item["changed"] is False
    for text in ["fed@fed.contoso.com has its UPN on federated domain fed.contoso.com", "requires an immutable id",
                 "move the UPN to a managed domain first and keep it there"]:
        assert text in item["msg"], item["msg"]
    assert graph.writes() == []
    assert graph.users() == before


def test_bad_input_is_refused_before_any_request(graph, playbook):
    rc, (result,) = playbook([stamp(graph, users=[
        {"user": "vp@contoso.com", "object_guid": "3ab39606-c642-489b-84b6-58c038d3ef3Z"},
        {"user": "plain@contoso.com", "immutable_id": "not$base64"},
        {"user": "stamped@contoso.com", "immutable_id": t.NEW_HIRE, "consistency_guid": t.NEW_HIRE_GUID},
    ])])
    assert result["failed"] is True, result
    assert "invalid input, nothing was changed" in result["msg"]
    assert "vp@contoso.com" in result["msg"] and "3ab39606-c642-489b-84b6-58c038d3ef3Z" in result["msg"]
    assert "plain@contoso.com" in result["msg"]
    assert "stamped@contoso.com: state=present takes one of immutable_id and consistency_guid" in result["msg"]
    assert graph.requests() == [], "nothing, not even a token request, reached the tenant"


def test_unknown_user_is_named(graph, playbook):
    rc, (result,) = playbook([stamp(graph, users=[
        {"user": "vp@contoso.com", "immutable_id": t.NEW_HIRE},
        {"user": "nobody@contoso.com", "immutable_id": t.OTHER},
    ])])
    assert result["failed"] is True, result
    assert "nobody@contoso.com: no cloud user has this UPN, object id or SMTP address" in result["msg"]
    assert graph.writes() == []


def test_user_found_by_smtp_address(graph, playbook):
    rc, (result,) = playbook([stamp(graph, user="VP@contoso.onmicrosoft.com", immutable_id=t.NEW_HIRE)])
    assert rc == 0 and result["changed"] is True, result
    assert graph.users()["vp@contoso.com"]["onPremisesImmutableId"] == t.NEW_HIRE


def test_wrong_secret_is_a_clear_error(graph, playbook):
    rc, (result,) = playbook([stamp(graph, user="vp@contoso.com", immutable_id=t.NEW_HIRE,
                                    client_secret="not-the-secret")])
    assert result["failed"] is True, result
    assert "invalid_client" in result["msg"] or "AADSTS7000215" in result["msg"], result["msg"]
    assert "not-the-secret" not in result["msg"]
    assert graph.writes() == []


def test_unreachable_endpoint_is_a_clear_error(graph, playbook):
    rc, (result,) = playbook([stamp(graph, user="vp@contoso.com", immutable_id=t.NEW_HIRE,
                                    graph_endpoint="https://127.0.0.1:9", authority_host="https://127.0.0.1:9")])
    assert result["failed"] is True, result
    assert "127.0.0.1:9" in result["msg"], result["msg"]


@pytest.mark.parametrize("option", ["graph_endpoint", "authority_host"])
def test_plain_http_is_refused_before_any_token_is_sent(graph, playbook, option):
    plain = graph.auth[option].replace("https://", "http://")
    rc, (result,) = playbook([stamp(graph, user="vp@contoso.com", immutable_id=t.NEW_HIRE, **{option: plain})])
    assert result["failed"] is True and "%s must be an https:// URL" % option in result["msg"], result
    assert graph.requests() == [], "not even the token request"


def test_a_write_quota_of_zero_is_an_error_naming_the_option(graph, playbook):
    rc, (result,) = playbook([stamp(graph, user="vp@contoso.com", immutable_id=t.NEW_HIRE, write_quota={"writes": 0})])
    assert result["failed"] is True and "write_quota.writes must be above 0" in result["msg"], result
    assert "Traceback" not in str(result) and graph.writes() == []


def test_a_role_held_through_a_role_assignable_group_is_refused_like_a_direct_one(graph_lab, playbook):
    tenant = t.tenant()
    tenant["groups"].append({"displayName": "Tier 0", "isAssignableToRole": True, "members": ["plain@contoso.com"],
                             "roles": [{"name": "Global Administrator", "assignment": "eligible"}]})
    graph_lab.load(tenant)
    rc, (result,) = playbook([stamp(graph_lab, user="plain@contoso.com", immutable_id=t.NEW_HIRE)])
    assert result["failed"] is True and "labelled PRIVILEGED" in result["results"][0]["msg"], result
    assert graph_lab.writes() == []


def test_untrusted_certificate_is_refused_by_default(graph, playbook):
    args = dict(user="vp@contoso.com", immutable_id=t.NEW_HIRE)
    task = {MODULE: dict({k: v for k, v in graph.auth.items() if k != "ca_path"}, **args)}
    rc, (result,) = playbook([task])
    assert result["failed"] is True, result
    assert "certificate" in result["msg"].lower(), result["msg"]
    assert graph.writes() == []


def test_a_tenant_that_blocks_cloud_takeover_refuses_every_stamp(graph_lab, playbook):
    # With blockCloudObjectTakeoverThroughHardMatchEnabled the sync refuses the hard match
    # (InvalidHardMatch), so a stamp would link nothing.
    tenant = t.tenant()
    tenant["features"] = dict(tenant.get("features") or {}, blockCloudObjectTakeoverThroughHardMatchEnabled=True)
    graph_lab.load(tenant)
    rc, (refused,) = playbook([stamp(graph_lab, user="vp@contoso.com", object_guid=t.NEW_HIRE_GUID)])
    assert refused["failed"] is True, refused
    message = refused["results"][0]["msg"]
    assert "blockCloudObjectTakeoverThroughHardMatchEnabled=true" in message and "InvalidHardMatch" in message
    assert "turn it back on" in message
    assert graph_lab.writes() == []
    # A value already in place is left alone: the refusal matters only when something would be written.
    rc, (kept,) = playbook([stamp(graph_lab, user="stamped@contoso.com", immutable_id=t.STAMPED)])
    assert rc == 0 and kept["changed"] is False, kept


def test_a_graph_without_onpremisesobjectidentifier_still_stamps_and_says_what_it_could_not_check(graph_lab, playbook):
    graph_lab.load(t.tenant(), absent_user_properties=["onPremisesObjectIdentifier"])
    rc, (applied,) = playbook([stamp(graph_lab, user="vp@contoso.com", object_guid=t.NEW_HIRE_GUID)])
    assert rc == 0 and applied["changed"] is True, applied
    assert graph_lab.users()["vp@contoso.com"]["onPremisesImmutableId"] == t.NEW_HIRE
    assert any("does not offer onPremisesObjectIdentifier, so it was not checked for vp@contoso.com" in w
               for w in applied.get("warnings", [])), applied.get("warnings")
    refused = [r for r in graph_lab.requests() if r["status"] == 400]
    assert refused and all("onPremisesObjectIdentifier" in r["query"] for r in refused), "only the optional property"


def test_an_app_that_may_not_read_the_sync_features_is_warned(graph_lab, playbook):
    tenant = t.tenant()
    limited = {"clientId": "44444444-4444-4444-8444-444444444444", "clientSecret": "limited-secret",
               "permissions": ["User.ReadWrite.All", "RoleManagement.Read.Directory", "Domain.Read.All"]}
    tenant["apps"] = list(tenant.get("apps") or []) + [limited]
    graph_lab.load(tenant)
    auth = dict(graph_lab.auth, client_id=limited["clientId"], client_secret=limited["clientSecret"])
    rc, (applied,) = playbook([{MODULE: dict(auth, user="vp@contoso.com", object_guid=t.NEW_HIRE_GUID)}])
    assert rc == 0 and applied["changed"] is True, applied
    assert any("OnPremDirectorySynchronization.Read.All" in w for w in applied.get("warnings", [])), applied


def test_a_tenant_without_p2_stamps_and_still_refuses_an_active_admin(graph_lab, playbook):
    # Without Entra ID P2 the PIM eligibility API answers 400 AadPremiumLicenseRequired.
    graph_lab.load(t.tenant(), entra_id_p2=False)
    rc, (applied,) = playbook([stamp(graph_lab, user="vp@contoso.com", object_guid=t.NEW_HIRE_GUID)])
    assert rc == 0 and applied["changed"] is True, applied
    assert any(r["status"] == 400 and "roleEligibilityScheduleInstances" in r["path"] for r in graph_lab.requests())
    rc, (refused,) = playbook([stamp(graph_lab, user="admin@contoso.com", immutable_id=t.OTHER)])
    assert refused["failed"] is True and "holds or is eligible for directory roles" in refused["results"][0]["msg"]

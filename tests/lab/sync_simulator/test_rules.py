"""Each rule of the sync simulator against the document that states it (lab/README.md, "Rules of
the sync simulator"), one cycle at a time, without a DC."""

from __future__ import annotations

import base64
import calendar
import re
import uuid

import pytest

from lab.sync_simulator.offline import World, ad_user

STRICT = {"quarantineUponProxyAddressesConflictEnabled": False, "quarantineUponUpnConflictEnabled": False}
PLACEHOLDER = re.compile(r"^vp\d{4}@contoso\.onmicrosoft\.com$")


def errors(result):
    return [(e["object"], e["error"]) for e in result["errors"] if e["error"] != "DuplicateAttributeQuarantined"]


def joins(result):
    return [(j["object"], j["cloud_user"], j["by"]) for j in result["joins"]]


def anchor(guid):
    return base64.b64encode(guid.bytes_le).decode()


def precreated(upn="vp@contoso.com", proxies=None, **extra):
    """The pre-created cloud-only user of the VP story: a mailbox with the primary address."""
    user = {"userPrincipalName": upn, "displayName": "Vera Price", "mail": upn,
            "proxyAddresses": proxies if proxies is not None else ["SMTP:" + upn], "mailbox": True}
    user.update(extra)
    return user


def vp_world(features=None, **user):
    return World({"features": dict({"blockSoftMatchEnabled": True, "softMatchOnUpnEnabled": False},
                                   **(features or {})), "users": [precreated(**user)]})


# --- 1. Duplicate Attribute Resiliency creates the duplicate -----------------------------------

def test_resiliency_provisions_a_placeholder_upn_duplicate_joined_to_the_ad_user():
    world = vp_world()
    result = world.sync(ad_user("vp"))
    assert result["result"] == "success" and errors(result) == []
    assert result["provisioned"] == ["vp"] and joins(result) == []
    (duplicate,) = [u for upn, u in world.users().items() if upn != "vp@contoso.com"]
    assert PLACEHOLDER.match(duplicate["userPrincipalName"]), duplicate["userPrincipalName"]
    assert duplicate["onPremisesSyncEnabled"] is True and duplicate["onPremisesSamAccountName"] == "vp"
    assert "SMTP:vp@contoso.com" not in duplicate["proxyAddresses"] and duplicate["mail"] is None
    assert sorted((e["category"], e["propertyCausingError"], e["value"])
                  for e in duplicate["onPremisesProvisioningErrors"]) == [
        ("PropertyConflict", "ProxyAddress", "SMTP:vp@contoso.com"),
        ("PropertyConflict", "UserPrincipalName", "vp@contoso.com")]
    original = world.users()["vp@contoso.com"]
    assert not original.get("onPremisesSyncEnabled") and original.get("onPremisesImmutableId") is None


def test_with_both_quarantine_switches_off_the_duplicate_fails_the_export():
    world = vp_world(STRICT)
    result = world.sync(ad_user("vp"))
    assert errors(result) == [("vp", "AttributeValueMustBeUnique")]
    assert list(world.users()) == ["vp@contoso.com"], "nothing was created"


def test_each_quarantine_switch_is_read_on_its_own():
    world = vp_world({"quarantineUponUpnConflictEnabled": False})
    assert [(e["attribute"]) for e in world.sync(ad_user("vp"))["errors"]] == ["userPrincipalName"]
    world = vp_world({"quarantineUponProxyAddressesConflictEnabled": False})
    assert [(e["attribute"]) for e in world.sync(ad_user("vp"))["errors"]] == ["proxyAddresses"]


def test_a_primary_address_held_by_a_mailbox_is_quarantined_not_refused():
    # No document states the old lab rule "a mailbox's primary address fails the export".
    world = World({"users": [precreated("vera@contoso.com", ["SMTP:vp@contoso.com"])],
                   "features": {"blockSoftMatchEnabled": True}})
    result = world.sync(ad_user("vp", upn="vp@contoso.com"))
    assert errors(result) == [] and result["provisioned"] == ["vp"]


def test_resiliency_hides_invalid_soft_match_for_new_objects():
    # "Understanding errors": with resiliency "you won't see the InvalidSoftMatch
    # synchronization errors seen during provisioning of new objects".
    taken = {"onPremisesImmutableId": anchor(uuid.uuid4())}
    world = vp_world({"blockSoftMatchEnabled": False}, **taken)
    result = world.sync(ad_user("vp"))
    assert errors(result) == [] and result["provisioned"] == ["vp"]
    world = vp_world(dict(STRICT, blockSoftMatchEnabled=False), **taken)
    assert errors(world.sync(ad_user("vp"))) == [("vp", "InvalidSoftMatch")]


@pytest.mark.parametrize("group_proxy, fails", [("SMTP:team@contoso.com", True), ("smtp:team@contoso.com", False)])
def test_a_user_alias_against_a_group_primary_still_fails(group_proxy, fails):
    # The resiliency page's known issue: user "smtp:Joe@contoso.com" against group "SMTP:Joe@contoso.com".
    world = World({"groups": [{"displayName": "Team", "proxyAddresses": [group_proxy, "SMTP:other@contoso.com"][
        :1 if group_proxy.startswith("SMTP") else 2]}]})
    result = world.sync(ad_user("joe", aliases=["team@contoso.com"]))
    assert errors(result) == ([("joe", "AttributeValueMustBeUnique")] if fails else [])


# --- 2. Soft match on the primary SMTP address, with a mailbox --------------------------------

@pytest.mark.parametrize("cloud, matched", [
    ({"proxyAddresses": ["SMTP:vp@contoso.com"], "mailbox": True}, True),
    ({"proxyAddresses": ["SMTP:vera@contoso.com", "smtp:vp@contoso.com"], "mailbox": True}, False),
    ({"proxyAddresses": ["SMTP:vp@contoso.com"], "mailbox": False}, False),
], ids=["primary-with-mailbox", "alias-only", "no-mailbox"])
def test_smtp_soft_match_needs_the_cloud_mailbox_primary(cloud, matched):
    user = precreated("vera@contoso.com", **cloud)
    user["mail"] = cloud["proxyAddresses"][0][5:]
    world = World({"users": [user], "features": {"softMatchOnUpnEnabled": False}})
    result = world.sync(ad_user("vp"))
    if matched:
        assert joins(result) == [("vp", "vera@contoso.com", "soft-smtp")]
    else:
        assert joins(result) == [] and result["provisioned"] == ["vp"], "a duplicate, the alias quarantined"


def test_mail_alone_is_not_matched_only_the_primary_proxy_address():
    world = World({"users": [precreated("vera@contoso.com", ["SMTP:vp@contoso.com"])],
                   "features": {"softMatchOnUpnEnabled": False}})
    no_proxies = ad_user("vp", primary="")
    no_proxies.mail = "vp@contoso.com"
    assert joins(world.sync(no_proxies)) == []


def test_upn_soft_match_only_when_enabled_and_no_smtp_match():
    cloud = precreated("vp@contoso.com", ["SMTP:vera.price@contoso.com"])
    cloud["mail"] = "vera.price@contoso.com"
    assert joins(World({"users": [cloud]}).sync(ad_user("vp"))) == [("vp", "vp@contoso.com", "soft-upn")]
    world = World({"users": [cloud], "features": {"softMatchOnUpnEnabled": False}})
    assert joins(world.sync(ad_user("vp"))) == []


# --- 3. The source anchor is fixed once the object is projected --------------------------------

def test_a_rewritten_consistency_guid_is_refused_not_a_new_link():
    world = World({"users": [precreated("other@contoso.com", onPremisesImmutableId=None)]})
    vp = ad_user("vp")
    world.sync(vp)
    projected = vp.anchor
    target = uuid.uuid4()
    world.user("other@contoso.com")["onPremisesImmutableId"] = anchor(target)
    vp.consistency_guid = target.bytes_le
    result = world.sync(vp)
    assert errors(result) == [("vp", "SourceAnchorChanged")]
    assert not world.user("other@contoso.com").get("onPremisesSyncEnabled"), "no silent re-link"
    vp.consistency_guid = base64.b64decode(projected)
    assert errors(world.sync(vp)) == [], "changed back, the object syncs again"


def test_out_of_scope_for_one_cycle_then_back_is_matched_again_with_the_new_anchor():
    world = World({"users": [precreated("other@contoso.com")]})
    vp = ad_user("vp")
    world.sync(vp)
    first = next(u for u in world.users().values() if u.get("onPremisesSamAccountName") == "vp")
    target = uuid.uuid4()
    world.user("other@contoso.com")["onPremisesImmutableId"] = anchor(target)
    vp.admin_description = "User_parked"
    world.sync(vp)
    assert first["deletedDateTime"] and first["onPremisesSyncEnabled"] is False
    vp.admin_description, vp.consistency_guid = None, target.bytes_le
    result = world.sync(vp)
    assert joins(result) == [("vp", "other@contoso.com", "hard")]


# --- 4. Sync scope ------------------------------------------------------------------------------

def test_admin_description_user_prefix_keeps_a_user_out_of_sync():
    world = World()
    result = world.sync(ad_user("parked", admin_description="User_parked"))
    assert result["counts"]["read"] == 0 and result["provisioned"] == [] and world.users() == {}
    assert World().sync(ad_user("kept", admin_description="Group_x"))["provisioned"] == ["kept"]


def test_leaving_the_scope_soft_deletes_and_coming_back_restores_by_hard_match():
    world = World()
    ann = ad_user("ann")
    world.sync(ann)
    ann.admin_description = "USER_leaver"
    result = world.sync(ann)
    assert result["deleted"] == [ann.dn] and world.space.get(ann.guid) is None
    (deleted,) = world.users(deleted=True).values()
    assert deleted["onPremisesSyncEnabled"] is False and deleted["onPremisesImmutableId"] == ann.anchor
    ann.admin_description = None
    result = world.sync(ann)
    assert joins(result) == [("ann", "ann@contoso.com", "hard")] and result["joins"][0]["restored"] is True


# --- 5. Takeover block meets the engine's own soft delete ---------------------------------------

def test_coming_back_with_the_takeover_block_on_is_invalid_hard_match():
    world = World({"features": {"blockCloudObjectTakeoverThroughHardMatchEnabled": True}})
    ann = ad_user("ann")
    world.sync(ann)
    ann.admin_description = "User_x"
    world.sync(ann)
    ann.admin_description = None
    assert errors(world.sync(ann)) == [("ann", "InvalidHardMatch")]


# --- 6. The 2026 hardening ---------------------------------------------------------------------

def stamped(guid, **extra):
    return World({"users": [precreated("vp@contoso.com", onPremisesImmutableId=anchor(guid), **extra)]},
                 now=extra.pop("now", None) if "now" in extra else None)


@pytest.mark.parametrize("role, blocked", [
    ({"name": "Global Administrator"}, True),
    ({"name": "Helpdesk Administrator", "assignment": "eligible"}, True),
    ({"name": "Exchange Administrator"}, False),
], ids=["privileged-active", "privileged-eligible", "not-privileged"])
def test_hard_match_to_a_cloud_user_with_a_privileged_role_is_invalid_hard_match(role, blocked):
    guid = uuid.uuid4()
    world = World({"users": [precreated(onPremisesImmutableId=anchor(guid), roles=[role])]})
    result = world.sync(ad_user("vp", guid=guid))
    if blocked:
        (error,) = result["errors"]
        assert error["error"] == "InvalidHardMatch" and "security hardening" in error["detail"]
    else:
        assert joins(result) == [("vp", "vp@contoso.com", "hard")]


def test_the_role_block_holds_for_a_soft_deleted_user_and_not_before_june_2026():
    guid = uuid.uuid4()
    tenant = {"users": [precreated(onPremisesImmutableId=anchor(guid), roles=[{"name": "Global Administrator"}],
                                   deletedDateTime="2026-05-20T00:00:00Z")]}
    may = calendar.timegm((2026, 5, 25, 0, 0, 0))
    assert errors(World(tenant, now=may + 20 * 86400).sync(ad_user("vp", guid=guid))) == [("vp", "InvalidHardMatch")]
    assert joins(World(tenant, now=may).sync(ad_user("vp", guid=guid))) == [("vp", "vp@contoso.com", "hard")]


def test_an_object_identifier_blocks_only_a_remap_to_another_ad_object():
    guid, other = uuid.uuid4(), uuid.uuid4()
    mapped = {"onPremisesImmutableId": anchor(guid), "onPremisesObjectIdentifier": str(other)}
    (error,) = World({"users": [precreated(**mapped)]}).sync(ad_user("vp", consistency=guid))["errors"]
    assert error["error"] == "AttributeUpdateNotAllowed"
    assert "Hard match operation blocked due to security hardening. Review OnPremisesObjectIdentifier mapping." \
        in error["detail"]
    same = dict(mapped, onPremisesObjectIdentifier=str(guid))
    assert joins(World({"users": [precreated(**same)]}).sync(ad_user("vp", guid=guid))) == [
        ("vp", "vp@contoso.com", "hard")]
    bypass = World({"users": [precreated(**mapped)],
                    "features": {"allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled": True}})
    assert joins(bypass.sync(ad_user("vp", consistency=guid))) == [("vp", "vp@contoso.com", "hard")]
    june = calendar.timegm((2026, 6, 30, 0, 0, 0))
    before = World({"users": [precreated(**mapped)]}, now=june)
    assert joins(before.sync(ad_user("vp", consistency=guid))) == [("vp", "vp@contoso.com", "hard")]


def test_every_synced_user_carries_its_on_premises_object_identifier():
    world = World()
    ann = ad_user("ann")
    world.sync(ann)
    assert world.user("ann@contoso.com")["onPremisesObjectIdentifier"] == str(ann.guid)


# --- 8. The recycle bin: the lab's assumption, a setting ----------------------------------------

@pytest.mark.parametrize("reserves", [True, False])
def test_a_soft_deleted_mailbox_reserves_its_addresses_only_under_the_lab_assumption(reserves):
    world = World({"lab": {"softDeletedMailboxReservesAddresses": reserves},
                   "users": [precreated("jdoe@contoso.com", deletedDateTime="2026-11-28T00:00:00Z")]},
                  now=calendar.timegm((2026, 12, 1, 0, 0, 0)))
    result = world.sync(ad_user("jdoe"))
    if reserves:
        assert errors(result) == [("jdoe", "AttributeValueMustBeUnique")]
    else:
        assert errors(result) == [] and result["provisioned"] == ["jdoe"]
        assert world.users()["jdoe@contoso.com"]["proxyAddresses"] == ["SMTP:jdoe@contoso.com"]


def test_blocked_soft_match_tries_no_match_across_object_types():
    # "Understanding errors" (ObjectTypeMismatch): it arises "When Microsoft Entra ID attempts to
    # soft match two objects"; blockSoftMatchEnabled means no attempt, so the user is provisioned
    # and the group's address meets resiliency (the user's primary is quarantined).
    group = {"displayName": "Sales", "mail": "sales@contoso.com", "proxyAddresses": ["SMTP:sales@contoso.com"]}
    blocked = World({"features": {"blockSoftMatchEnabled": True}, "groups": [group]}).sync(ad_user("sales"))
    assert errors(blocked) == [] and blocked["provisioned"] == ["sales"]
    allowed = World({"groups": [dict(group)]}).sync(ad_user("sales"))
    assert errors(allowed) == [("sales", "ObjectTypeMismatch")]

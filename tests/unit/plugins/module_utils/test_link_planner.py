"""The link planner: state, method, ordered actions, blockers, and the promise it keeps."""

import calendar
import uuid

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._plan import planner
from ansible_collections.syncfix.entra.plugins.module_utils._sync import prediction as sync

NOW = calendar.timegm((2026, 12, 1, 0, 0, 0))
GUID = "3ab39606-c642-489b-84b6-58c038d3ef39"
ANCHOR = "BpazOkLGm0iEtljAONPvOQ=="
OTHER = "RDHiRneDPkiofrZ2nbYu7Q=="
GA = {"name": "Global Administrator", "template_id": "62e90394-69f5-4237-9190-012177145e10", "assignment": "eligible"}
EXCHANGE = {"name": "Exchange Administrator", "template_id": "29232cdf-9323-42fd-ade2-1d097af3e4de",
            "assignment": "active"}


def ad(sam="vp", primary="vp@contoso.com", guid=GUID, **kw):
    kw.setdefault("proxy_addresses", ["SMTP:" + primary] if primary else [])
    kw.setdefault("upn", "%s@contoso.com" % sam)
    return sync.AdUser("CN=%s,OU=Staff,DC=contoso,DC=test" % sam, guid, sam=sam, mail=primary, **kw)


def cloud(id="c1", upn="vp@contoso.com", mailbox=True, **kw):
    kw.setdefault("mail", upn)
    kw.setdefault("proxy_addresses", ["SMTP:" + upn] if kw["mail"] else [])
    return sync.CloudObject(id, upn=upn, mailbox=mailbox, **kw)


def world(*objects, **features):
    facts = sync.TenantFacts(features, "contoso.onmicrosoft.com", ["contoso.com", "fed.contoso.com"], now=NOW,
                             federated_domains=["fed.contoso.com"])
    return sync.World(objects, facts)


def converge(plan, ad_user, w):
    """Carry the actions out on the model (each cycle is the prediction applied), then plan again."""
    ad_copy, state = ad_user.copy(), w.overlay()
    for made in plan.actions:
        planner.apply_action(made, ad_copy, state)
    cloud_user = state.get(plan.cloud) if plan.cloud else None
    return planner.plan_link(planner.Link(ad_copy, cloud_user, plan.link.state, plan.link.method,
                                          plan.link.allow_purge, plan.link.allow_data_loss), state)


def phases(plan):
    return [a["phase"] for a in plan.actions]


def test_phases_are_the_documented_order():
    assert planner.PHASES == ("scope_out", "cycle_out", "purge", "restore", "stamp", "clear_anchor", "reverse_anchor",
                              "align_smtp",
                              "scope_in", "cycle")


def test_joined_is_linked_with_nothing_to_do():
    c = cloud(immutable_id=ANCHOR, sync_enabled=True, object_identifier=GUID)
    plan = planner.plan_link(planner.Link(ad(), c), world(c))
    assert (plan.state, plan.actions, plan.predicted.outcome) == ("linked", [], "joined")


def test_a_soft_match_the_next_sync_makes_is_pending():
    c = cloud()
    plan = planner.plan_link(planner.Link(ad()), world(c))
    assert (plan.state, plan.cloud, plan.actions) == ("pending", "c1", [])


def test_auto_aligns_the_primary_smtp_where_soft_match_is_enough():
    c = cloud(upn="vera.price@contoso.com")
    user = ad(upn="vp2@contoso.com")
    w = world(c)
    plan = planner.plan_link(planner.Link(user, c), w)
    assert (plan.state, plan.method, phases(plan)) == ("conflict", "soft", ["align_smtp", "cycle"])
    assert plan.actions[0] == {"phase": "align_smtp", "module": "syncfix.entra.ad_proxy_addresses",
                               "item": {"object": user.dn, "addresses": [], "state": "present",
                                        "primary": "vera.price@contoso.com"}, "why": plan.actions[0]["why"]}
    assert plan.predicted.outcome == "soft-smtp" and plan.predicted.target == "c1"
    again = converge(plan, user, w)
    assert (again.state, again.actions) == ("linked", [])


def test_auto_stamps_the_anchor_when_soft_match_is_blocked():
    c = cloud()
    user = ad()
    w = world(c, blockSoftMatchEnabled=True, softMatchOnUpnEnabled=False)
    plan = planner.plan_link(planner.Link(user, c), w)
    assert (plan.state, plan.method, phases(plan)) == ("conflict", "hard", ["stamp", "cycle"])
    assert plan.actions[0]["item"] == {"user": "c1", "immutable_id": ANCHOR, "object_guid": GUID}
    assert plan.predicted.outcome == "hard"
    assert (converge(plan, user, w).state, converge(plan, user, w).actions) == ("linked", [])


def test_soft_deleted_cloud_user_is_restored_and_stamped_not_purged():
    c = cloud(deleted=True, deleted_at=NOW - 86400)
    user = ad()
    w = world(c)
    plan = planner.plan_link(planner.Link(user, c, allow_purge=True), w)
    assert (plan.method, phases(plan)) == ("hard", ["restore", "stamp", "cycle"])
    assert plan.actions[0]["item"] == {"user": "c1", "state": "restored"}
    assert converge(plan, user, w).state == "linked"


def test_stray_anchor_is_replaced_only_with_the_links_own_force():
    c = cloud(immutable_id=OTHER)
    w = world(c, quarantineUponProxyAddressesConflictEnabled=False)
    refused = planner.plan_link(planner.Link(ad(), c, method="hard"), w)
    assert refused.state == "blocked" and [b.rule for b in refused.blockers] == ["force"]
    assert "set force: true on this link if vp@contoso.com must be re-pointed" == refused.blockers[0].way_out
    plan = planner.plan_link(planner.Link(ad(), c, method="hard", force=True), w)
    assert plan.method == "hard" and plan.actions[0]["item"]["force"] is True and "options" not in plan.actions[0]


def test_reverse_anchor_before_projection():
    c = cloud(immutable_id=OTHER, sync_enabled=True)  # synced: its immutable id can't change in the cloud
    user = ad()
    w = world(c)
    plan = planner.plan_link(planner.Link(user, c, method="reverse"), w)
    assert (plan.method, phases(plan)) == ("reverse", ["reverse_anchor", "cycle"])
    assert plan.actions[0]["item"] == {"object": user.dn, "immutable_id": OTHER}
    assert converge(plan, user, w).state == "linked"


def test_reverse_anchor_is_refused_once_projected():
    joined = cloud("dup", "vp1234@contoso.onmicrosoft.com", mail=None, immutable_id=ANCHOR, sync_enabled=True,
                   object_identifier=GUID, mailbox=False)
    c = cloud(immutable_id=OTHER)
    blockers = planner.reverse_method(planner.Link(ad(), c), ad(), c, world(joined, c))[1]
    assert blockers[0].rule == "projected"


def test_resiliency_duplicate_is_removed_then_the_intended_user_stamped():
    duplicate = cloud("dup", "vp1234@contoso.onmicrosoft.com", mail=None, mailbox=False, immutable_id=ANCHOR,
                      sync_enabled=True, object_identifier=GUID)
    intended = cloud()
    user = ad()
    w = world(intended, duplicate, blockSoftMatchEnabled=True)
    plan = planner.plan_link(planner.Link(user, intended), w)
    assert (plan.state, plan.method) == ("duplicate", "remove_duplicate")
    assert phases(plan) == ["scope_out", "cycle_out", "purge", "stamp", "scope_in", "cycle"]
    assert plan.actions[0]["item"] == {"object": user.dn, "state": "excluded"}
    assert plan.actions[2]["item"] == {"user": "dup", "state": "purged", "mail_from_sync": True}
    assert plan.actions[4]["item"] == {"object": user.dn, "state": "included"}
    assert (plan.predicted.outcome, plan.predicted.target) == ("hard", "c1")
    again = converge(plan, user, w)
    assert (again.state, again.actions) == ("linked", [])


def test_recreate_only_with_allow_purge_and_no_data_loss():
    c = cloud(immutable_id=OTHER, mailbox=False, mail=None)
    w = world(c, blockCloudObjectTakeoverThroughHardMatchEnabled=True)
    refused = planner.plan_link(planner.Link(ad(), c, method="recreate"), w)
    assert refused.state == "blocked" and refused.blockers[0].rule == "allow_purge"
    plan = planner.plan_link(planner.Link(ad(), c, method="recreate", allow_purge=True), w)
    assert (plan.method, phases(plan), plan.predicted.outcome) == ("recreate", ["purge", "cycle"], "provision")
    with_mailbox = cloud(immutable_id=OTHER, licenses=["ENTERPRISEPACK"])
    lossy = planner.plan_link(planner.Link(ad(), with_mailbox, method="recreate", allow_purge=True), world(with_mailbox))
    assert lossy.blockers[0].rule == "data-loss"
    # allow_data_loss never covers a directory role: entra_user_purge would refuse it mid-run;
    # allow_role_holder (linking a role holder) does not either
    admin = cloud(immutable_id=OTHER, mailbox=False, mail=None, roles=[EXCHANGE])
    plan = planner.plan_link(planner.Link(ad(), admin, method="recreate", allow_purge=True, allow_data_loss=True,
                                          allow_role_holder=True), world(admin))
    assert plan.state == "blocked" and plan.blockers[0].rule == "data-loss" and "directory roles" in \
        plan.blockers[0].reason


@pytest.mark.parametrize("target,features,rule", [
    (cloud(roles=[GA]), {"blockSoftMatchEnabled": True}, "privileged-role"),
    (cloud(), {"blockSoftMatchEnabled": True, "blockCloudObjectTakeoverThroughHardMatchEnabled": True},
     "blockCloudObjectTakeoverThroughHardMatchEnabled"),
    (cloud(object_identifier=str(uuid.uuid4())), {"blockSoftMatchEnabled": True}, "onPremisesObjectIdentifier"),
    (cloud(upn="vp@fed.contoso.com", mail="vp@contoso.com"), {"blockSoftMatchEnabled": True}, "federated-upn"),
])
def test_blockers_that_need_a_person(target, features, rule):
    plan = planner.plan_link(planner.Link(ad(), target), world(target, **features))
    assert plan.state == "blocked" and plan.actions == []
    assert rule in [b.rule for b in plan.blockers]
    assert all(b.reason and b.way_out and b.source for b in plan.blockers)


def test_federated_upn_with_the_workaround_is_stamped():
    target = cloud(upn="vp@fed.contoso.com", mail="vp@contoso.com")
    plan = planner.plan_link(planner.Link(ad(), target, federated_upn_workaround=True),
                             world(target, blockSoftMatchEnabled=True))
    assert plan.method == "hard" and plan.actions[0]["item"] == {
        "user": "c1", "immutable_id": ANCHOR, "object_guid": GUID, "federated_upn_workaround": True}


def test_admin_role_blocks_soft_match_even_when_eligible():
    target = cloud(roles=[GA])
    blockers = planner.soft_method(planner.Link(ad(), target), ad(), target, world(target))[1]
    assert [b.rule for b in blockers] == ["ExistingAdminRoleConflict"]


def test_group_holding_the_address_is_object_type_mismatch():
    group = sync.CloudObject("g1", "group", mail="vp@contoso.com", proxy_addresses=["SMTP:vp@contoso.com"])
    plan = planner.plan_link(planner.Link(ad()), world(group))
    assert plan.state == "blocked" and plan.blockers[0].rule == "ObjectTypeMismatch"


def test_out_of_scope_ad_user_is_blocked():
    plan = planner.plan_link(planner.Link(ad(admin_description="User_x"), cloud()), world(cloud()))
    assert plan.state == "blocked" and plan.blockers[0].rule == "out-of-scope"


def test_two_links_naming_one_cloud_user_are_both_blocked_and_neither_applied():
    c = cloud()
    links = [planner.Link(ad("a", "a@contoso.com", guid=str(uuid.uuid4())), c),
             planner.Link(ad("b", "b@contoso.com", guid=str(uuid.uuid4())), c),
             planner.Link(ad("c", "c@contoso.com", guid=str(uuid.uuid4())))]
    plans = planner.plan_links(links, world(c))
    assert [p.state for p in plans[:2]] == ["blocked", "blocked"] and not plans[0].actions
    assert plans[0].blockers[0].rule == "duplicate-link" and "a, b" in plans[0].blockers[0].reason
    assert plans[2].state == "pending"


def test_one_ad_user_named_twice_is_blocked():
    user = ad()
    plans = planner.plan_links([planner.Link(user, cloud()), planner.Link(user, cloud("c2", "x@contoso.com"))],
                               world(cloud()))
    assert [p.state for p in plans] == ["blocked", "blocked"]


def test_unlinked_clears_a_stray_immutable_id_and_keeps_the_ad_user_out():
    c = cloud(immutable_id=ANCHOR)
    user = ad()
    w = world(c)
    plan = planner.plan_link(planner.Link(user, c, state="unlinked"), w)
    assert phases(plan) == ["scope_out", "clear_anchor", "cycle"]
    assert plan.actions[1]["item"] == {"user": "c1", "state": "absent", "force": True}
    assert plan.predicted.outcome == "out-of-scope"
    assert converge(plan, user, w).state == "unlinked"


def test_unlinked_that_no_sync_touches_has_nothing_to_do():
    c = cloud("c2", "someone@contoso.com")
    plan = planner.plan_link(planner.Link(ad(), c, state="unlinked"), world(c))
    assert (plan.state, plan.actions) == ("unlinked", [])


def test_every_action_has_the_module_item_shape():
    duplicate = cloud("dup", "vp1234@contoso.onmicrosoft.com", mail=None, mailbox=False, immutable_id=ANCHOR,
                      sync_enabled=True, object_identifier=GUID)
    plan = planner.plan_link(planner.Link(ad(), cloud()), world(cloud(), duplicate, blockSoftMatchEnabled=True))
    for made in plan.actions:
        assert set(made) == {"phase", "module", "item", "why"}
        assert made["module"].startswith("syncfix.entra.") and made["phase"] in planner.PHASES
    assert plan.to_dict()["state"] == "duplicate"


# -- a remediation that stopped half-way is finished by the next run ------------------------------

def parked(ad_user, previous=""):
    copy = ad_user.copy()
    copy.admin_description = "User_syncfix:" + previous
    return copy


def test_a_user_parked_by_ad_sync_scope_is_resumed_not_blocked():
    intended = cloud()
    duplicate = cloud("d1", "vp1234@contoso.onmicrosoft.com", mailbox=False, mail=None, immutable_id=ANCHOR,
                      sync_enabled=True, object_identifier=GUID)
    w = world(intended, duplicate, blockSoftMatchEnabled=True)
    # Stopped right after scope_out: the engine still holds the join, so the cycle comes first.
    plan = planner.plan_link(planner.Link(parked(ad()), intended), w)
    assert plan.state != "blocked" and phases(plan) == ["cycle_out", "purge", "stamp", "scope_in", "cycle"]
    assert plan.actions[-2]["item"] == {"object": ad().dn, "state": "included"}
    # Stopped after the cycle: the duplicate is in the recycle bin.
    gone = duplicate.copy()
    gone.deleted, gone.sync_enabled, gone.deleted_at = True, False, NOW
    plan = planner.plan_link(planner.Link(parked(ad()), intended), world(intended, gone, blockSoftMatchEnabled=True))
    assert phases(plan) == ["purge", "stamp", "scope_in", "cycle"] and plan.predicted.outcome == "hard"


def test_a_parked_user_already_linked_only_comes_back():
    joined = cloud(immutable_id=ANCHOR, sync_enabled=True, object_identifier=GUID)
    gone = joined.copy()
    gone.deleted, gone.sync_enabled, gone.deleted_at = True, False, NOW
    plan = planner.plan_link(planner.Link(parked(ad(), "Sales"), gone), world(gone))
    assert phases(plan) == ["scope_in", "cycle"] and plan.predicted.outcome == "hard" and plan.predicted.restored


def test_someone_elses_user_prefix_is_still_a_blocker():
    other = ad()
    other.admin_description = "User_DoNotSync"
    plan = planner.plan_link(planner.Link(other, cloud()), world(cloud()))
    assert plan.state == "blocked" and plan.blockers[0].rule == "out-of-scope"


def test_a_cycle_in_the_middle_holds_out_the_links_whose_fix_must_land_before_their_next_sync():
    duplicate = cloud("dup", "vp1234@contoso.onmicrosoft.com", mail=None, mailbox=False, immutable_id=ANCHOR,
                      sync_enabled=True, object_identifier=GUID)
    stamped_guid, pending_guid = str(uuid.uuid4()), str(uuid.uuid4())
    to_stamp = cloud("c2", "ann@contoso.com", immutable_id=OTHER)
    soft = cloud("c3", "bob@contoso.com")
    w = world(cloud(), duplicate, to_stamp, soft, blockSoftMatchEnabled=False)
    users = [ad(), ad("ann", "ann@contoso.com", guid=stamped_guid), ad("bob", "bob@contoso.com", guid=pending_guid)]
    links = [planner.Link(users[0], cloud()), planner.Link(users[1], to_stamp, method="hard", force=True),
             planner.Link(users[2], soft)]
    plans = planner.plan_links(links, w)
    assert plans[0].state == "duplicate" and phases(plans[0])[:3] == ["scope_out", "cycle_out", "purge"]
    assert phases(plans[1]) == ["scope_out", "stamp", "scope_in", "cycle"]
    assert plans[1].actions[0]["item"] == {"object": users[1].dn, "state": "excluded"}
    assert "during the cycle in the middle" in plans[1].actions[0]["why"]
    assert plans[1].actions[2]["item"] == {"object": users[1].dn, "state": "included"}
    assert (plans[2].state, phases(plans[2])) == ("pending", [])  # the middle cycle soft-matches it as well


def test_without_a_cycle_in_the_middle_nobody_is_held_out():
    to_stamp = cloud("c2", "ann@contoso.com", immutable_id=OTHER)
    plans = planner.plan_links([planner.Link(ad("ann", "ann@contoso.com"), to_stamp, method="hard", force=True)],
                               world(to_stamp))
    assert phases(plans[0]) == ["stamp", "cycle"]


def test_a_resiliency_duplicate_carrying_the_ad_users_mail_is_no_mailbox_unless_licensed():
    """The sync wrote the duplicate's mail from AD; Exchange Online mails only licensed users."""
    def duplicate(**kw):
        return cloud("dup", "vp1234@contoso.onmicrosoft.com", mail="vp@contoso.com", proxy_addresses=[],
                     mailbox=True, immutable_id=ANCHOR, sync_enabled=True, object_identifier=GUID, **kw)
    unlicensed, licensed = duplicate(), duplicate(licenses=["c7df2760-2c81-4ef7-b578-5b5392b571df"])
    plan = planner.plan_link(planner.Link(ad(), cloud()), world(cloud(), unlicensed, blockSoftMatchEnabled=True))
    assert (plan.state, plan.method) == ("duplicate", "remove_duplicate")
    blocked = planner.plan_link(planner.Link(ad(), cloud()), world(cloud(), licensed, blockSoftMatchEnabled=True))
    assert blocked.state == "blocked" and blocked.blockers[0].rule == "data-loss"
    assert "licenses c7df2760" in blocked.blockers[0].reason and "mailbox" in blocked.blockers[0].reason


# -- issue 26: the planner never chooses a cloud user for a person -------------------------------

def no_writes(plan):
    """No action but the last cycle: nothing restored, stamped, forced, purged or recreated."""
    return [a for a in plan.actions if a["phase"] != "cycle"] == []


def departed(**kw):
    """The soft-deleted account of someone who left, holding the address a new hire now gets."""
    kw.setdefault("licenses", ["ENTERPRISEPACK"])
    return cloud("gone", immutable_id=OTHER, deleted=True, deleted_at=NOW - 5 * 86400, **kw)


def test_a_departed_users_soft_deleted_mailbox_is_never_restored_for_an_undeclared_new_hire():
    plan = planner.plan_link(planner.Link(ad()), world(departed()))
    assert plan.state == "blocked" and plan.actions == [] and plan.method == "none"
    assert [b.rule for b in plan.blockers] == ["AttributeValueMustBeUnique"]
    (warning,) = plan.warnings
    assert "soft-deleted cloud user vp@contoso.com (gone)" in warning and "declare cloud: gone" in warning


def test_a_soft_deleted_namesake_under_its_renamed_upn_is_a_warning_not_a_target():
    # Entra renames a soft-deleted user's UPN <object id without hyphens><UPN>; no mailbox: it
    # reserves nothing, so the sync provisions the new hire cleanly.
    namesake = sync.CloudObject("0b1c3ec4-2d2a-4b5f-9e0e-5ad2e1c3d4f5", upn="0b1c3ec42d2a4b5f9e0e5ad2e1c3d4f5vp@contoso.com",
                                deleted=True, deleted_at=NOW - 86400, immutable_id=OTHER)
    plan = planner.plan_link(planner.Link(ad()), world(namesake))
    assert (plan.state, plan.actions, plan.cloud) == ("pending", [], None)
    assert plan.current.outcome == "provision"
    assert len(plan.warnings) == 1 and "declare cloud: 0b1c3ec4-2d2a-4b5f-9e0e-5ad2e1c3d4f5" in plan.warnings[0]


def test_a_soft_deleted_user_declared_by_the_caller_is_restored_saying_what_it_keeps():
    licensed = departed()
    plan = planner.plan_link(planner.Link(ad(), licensed, force=True), world(licensed))
    assert phases(plan) == ["restore", "stamp", "cycle"] and "its mailbox and data" in plan.actions[0]["why"]
    assert plan.warnings == [], "the declared account is no namesake"
    unlicensed = departed(licenses=[])
    plan = planner.plan_link(planner.Link(ad(), unlicensed, force=True), world(unlicensed))
    assert phases(plan) == ["restore", "stamp", "cycle"] and "mailbox and data" not in plan.actions[0]["why"]
    assert "no licence" in plan.actions[0]["why"]


def test_blocked_soft_match_blocks_an_undeclared_link_instead_of_a_hard_match():
    c = cloud()
    plan = planner.plan_link(planner.Link(ad()), world(c, blockSoftMatchEnabled=True))
    assert plan.state == "blocked" and no_writes(plan) and plan.actions == []
    (blocker,) = plan.blockers
    assert blocker.rule == "placeholder-duplicate" and "UserPrincipalName vp@contoso.com" in blocker.reason
    assert blocker.way_out == "declare cloud: c1 if vp@contoso.com is this person's account"


@pytest.mark.parametrize("assignment", ["active", "eligible"])
def test_an_exchange_administrator_is_never_hard_matched_for_an_undeclared_link(assignment):
    admin = cloud(roles=[dict(EXCHANGE, assignment=assignment)])
    plan = planner.plan_link(planner.Link(ad(), allow_role_holder=True), world(admin))
    assert plan.state == "blocked" and plan.actions == []
    assert [b.rule for b in plan.blockers] == ["ExistingAdminRoleConflict"]
    assert "declare cloud: c1" in plan.blockers[0].way_out


def test_a_stray_anchor_is_never_forced_for_an_undeclared_link():
    c = cloud(immutable_id=OTHER)
    plan = planner.plan_link(planner.Link(ad()), world(c))
    assert plan.state == "blocked" and plan.actions == []
    assert plan.blockers[0].rule == "placeholder-duplicate" and "declare cloud: c1" in plan.blockers[0].way_out


def test_allow_purge_and_allow_data_loss_never_recreate_an_undeclared_links_cloud_user():
    # Soft match refused (immutable id), hard refused (takeover block), no GUID to reverse: once
    # the planner recreated (purged) this licensed mailbox.
    c = cloud(immutable_id="b3BhcXVlLWFuY2hvcg==", licenses=["ENTERPRISEPACK"])
    w = world(c, blockCloudObjectTakeoverThroughHardMatchEnabled=True)
    plan = planner.plan_link(planner.Link(ad(), allow_purge=True, allow_data_loss=True), w)
    assert plan.state == "blocked" and plan.actions == []


def test_a_joined_resiliency_placeholder_is_not_linked_for_an_undeclared_link():
    placeholder = cloud("dup", "vp1234@contoso.onmicrosoft.com", mail=None, mailbox=False, immutable_id=ANCHOR,
                        sync_enabled=True, object_identifier=GUID,
                        provisioning_errors=[{"category": "PropertyConflict", "propertyCausingError": "UserPrincipalName",
                                              "value": "vp@contoso.com"}])
    intended = cloud()
    plan = planner.plan_link(planner.Link(ad()), world(intended, placeholder))
    assert plan.state == "blocked" and plan.actions == [] and plan.blockers[0].rule == "quarantine"
    assert "declare cloud: c1 if vp@contoso.com is this person's account" in plan.blockers[0].way_out
    clean = cloud("dup", "vp@contoso.com", immutable_id=ANCHOR, sync_enabled=True, object_identifier=GUID)
    assert planner.plan_link(planner.Link(ad()), world(clean)).state == "linked"


def test_an_undeclared_link_the_next_sync_soft_matches_cleanly_stays_pending():
    plan = planner.plan_link(planner.Link(ad()), world(cloud()))
    assert (plan.state, plan.cloud, plan.actions, plan.blockers) == ("pending", "c1", [], [])


def test_undeclared_and_unlinked_needs_the_cloud_user_declared_to_act():
    c = cloud(immutable_id=ANCHOR)  # the next sync hard-matches it
    plan = planner.plan_link(planner.Link(ad(), state="unlinked"), world(c))
    assert plan.state == "blocked" and plan.actions == [] and plan.blockers[0].rule == "undeclared-cloud"
    assert planner.plan_link(planner.Link(ad(), state="unlinked"), world()).state == "unlinked"


# -- role holders need the link's own allow_role_holder (issue 26, finding 4) ----------------------

CUSTOM = {"name": "Helpdesk Tier 3 (custom)", "template_id": str(uuid.UUID(int=77)), "assignment": "eligible"}


@pytest.mark.parametrize("role", [EXCHANGE, CUSTOM], ids=["exchange-administrator", "custom-eligible"])
def test_a_declared_role_holder_is_stamped_only_with_allow_role_holder(role):
    target = cloud(roles=[role], immutable_id=OTHER)
    w = world(target, blockSoftMatchEnabled=True)
    refused = planner.plan_link(planner.Link(ad(), target, force=True), w)
    assert refused.state == "blocked" and [b.rule for b in refused.blockers] == ["role-holder"]
    assert role["name"] in refused.blockers[0].reason and "allow_role_holder: true" in refused.blockers[0].way_out
    plan = planner.plan_link(planner.Link(ad(), target, force=True, allow_role_holder=True), w)
    assert (plan.method, phases(plan)) == ("hard", ["stamp", "cycle"])
    assert plan.actions[0]["item"] == {"user": "c1", "immutable_id": ANCHOR, "object_guid": GUID, "force": True,
                                       "allow_role_holder": True}


def test_a_privileged_role_holder_is_refused_whatever_the_opt_in():
    target = cloud(roles=[GA])
    plan = planner.plan_link(planner.Link(ad(), target, allow_role_holder=True, force=True),
                             world(target, blockSoftMatchEnabled=True))
    assert plan.state == "blocked" and plan.actions == [] and [b.rule for b in plan.blockers] == ["privileged-role"]


def test_clearing_a_role_holders_anchor_needs_allow_role_holder_and_never_a_privileged_one():
    holder = cloud(immutable_id=ANCHOR, roles=[EXCHANGE])
    w = world(holder)
    refused = planner.plan_link(planner.Link(ad(), holder, state="unlinked"), w)
    assert refused.state == "blocked" and refused.blockers[0].rule == "role-holder"
    plan = planner.plan_link(planner.Link(ad(), holder, state="unlinked", allow_role_holder=True), w)
    clear = [a for a in plan.actions if a["phase"] == "clear_anchor"][0]
    assert clear["item"] == {"user": "c1", "state": "absent", "force": True, "allow_role_holder": True}
    # Before the 2026 hardening (MC1262584) the next sync would hard-match the administrator.
    admin = cloud(immutable_id=ANCHOR, roles=[GA])
    before = sync.World([admin], sync.TenantFacts({}, "contoso.onmicrosoft.com", ["contoso.com"],
                                                  now=sync.ROLE_HARDENING_FROM - 86400))
    plan = planner.plan_link(planner.Link(ad(), admin, state="unlinked", allow_role_holder=True), before)
    assert plan.state == "blocked" and plan.blockers[0].rule == "privileged-role"


def test_a_reverse_anchor_over_an_ad_users_consistency_guid_needs_force():
    c = cloud(immutable_id=OTHER, sync_enabled=True)
    user = ad(consistency_guid=str(uuid.UUID(int=5)))
    refused = planner.plan_link(planner.Link(user, c, method="reverse"), world(c))
    assert refused.state == "blocked" and refused.blockers[0].rule == "force"
    plan = planner.plan_link(planner.Link(user, c, method="reverse", force=True), world(c))
    assert plan.actions[0]["item"] == {"object": user.dn, "immutable_id": OTHER, "force": True}


# -- two links meeting one cloud user (finding 10) -------------------------------------------------

def test_a_declared_and_an_undeclared_link_meeting_one_cloud_user_are_both_blocked():
    c = cloud()  # vp's primary SMTP: the next sync soft-matches vp to it
    ann = ad("ann", "ann@contoso.com", guid=str(uuid.uuid4()))
    plans = planner.plan_links([planner.Link(ad()), planner.Link(ann, c)], world(c, softMatchOnUpnEnabled=False))
    assert [p.state for p in plans] == ["blocked", "blocked"] and all(p.actions == [] for p in plans)
    assert {p.blockers[0].rule for p in plans} == {"duplicate-link"} and "vp, ann" in plans[0].blockers[0].reason


# -- scan proposals (finding 2, link side) ---------------------------------------------------------

@pytest.mark.parametrize("proposal,accept,blocked", [
    ({"confidence": "high", "evidence": ["primary SMTP"], "confirmed": False}, False, True),
    ({"confidence": "high", "evidence": ["primary SMTP"], "confirmed": False}, True, False),
    ({"confidence": "medium", "evidence": [], "confirmed": False}, True, False),
    ({"confidence": "low", "evidence": ["alias"], "confirmed": False}, True, True),
    ({"confidence": "low", "evidence": ["alias"], "confirmed": True}, False, False),
    (None, False, False),
])
def test_an_unconfirmed_proposal_is_blocked_unless_accepted_and_low_ones_always(proposal, accept, blocked):
    c = cloud()
    plan, = planner.plan_links([planner.Link(ad(), c, proposal=proposal)], world(c, blockSoftMatchEnabled=True),
                               accept_proposals=accept)
    assert (plan.state == "blocked") == blocked
    if blocked:
        assert plan.actions == [] and plan.blockers[0].rule == "unconfirmed-proposal"
        assert "proposal.confirmed: true" in plan.blockers[0].way_out
    else:
        assert phases(plan) == ["stamp", "cycle"]

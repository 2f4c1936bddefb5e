"""The cloud rules of the sync-conflict scan, one object at a time, with plain dicts."""

from types import SimpleNamespace

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._scan import cloud as scan
from ansible_collections.syncfix.entra.plugins.module_utils._scan.findings import FIELDS

GA = "62e90394-69f5-4237-9190-012177145e10"
EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de"
ANCHOR = "BpazOkLGm0iEtljAONPvOQ=="
STALE = "QF5HMK7n80qvdYsUPIHa9Q=="
VP_DN = "CN=Vera Price,OU=Staff,DC=contoso,DC=test"
SALES_DN = "CN=Sales,OU=Staff,DC=contoso,DC=test"
LIST_DN = "CN=All Staff,OU=Groups,DC=contoso,DC=test"
DOMAINS = SimpleNamespace(initial="contoso.onmicrosoft.com")
# The tenant blocks soft match: a cloud-only user holding an AD user's primary address is then a finding.
BLOCKED = {"blockSoftMatchEnabled": True}


def ad_index(**extra):
    """Vera Price (vp) brings vp@contoso.com as UPN and primary SMTP address; sales likewise."""
    index = SimpleNamespace(
        addresses={"vp@contoso.com": VP_DN, "sales@contoso.com": SALES_DN, "staff@contoso.com": LIST_DN},
        anchors={ANCHOR: VP_DN},
        names={VP_DN: "vp", SALES_DN: "sales"},
        classes={VP_DN: "user", SALES_DN: "user", LIST_DN: "group"},
        soft_keys={VP_DN: ("vp@contoso.com", "vp@contoso.com"), SALES_DN: ("sales@contoso.com", "sales@contoso.com")},
        identities={VP_DN: ("vp", "Vera Price")})
    for key, value in extra.items():
        setattr(index, key, value)
    return index


def user(upn, id=None, **kw):
    return dict({"id": id or "id-" + upn.split("@")[0], "userPrincipalName": upn, "displayName": upn.split("@")[0],
                 "proxyAddresses": [], "onPremisesSyncEnabled": None, "onPremisesImmutableId": None,
                 "onPremisesProvisioningErrors": []}, **kw)


def conflict(prop, value, when="2026-11-01T08:00:00Z"):
    return {"category": "PropertyConflict", "propertyCausingError": prop, "value": value, "occurredDateTime": when}


def rules(findings):
    return sorted(f["rule"] for f in findings)


def run(objects, ad=None, features=None, roles=None, error_filter=None, domains=DOMAINS):
    """Feed ``[(kind, object)]`` and return every finding (the features' own left out)."""
    cloud = scan.CloudScan(ad, domains, {} if features is None else features, error_filter)
    found = []
    for kind, obj in objects:
        found.extend(getattr(cloud, "add_" + kind)(obj))
    if roles is not None:
        found.extend(cloud.set_role_holders(roles))
    found.extend(cloud.finish())
    return [f for f in found if f["rule"] != scan.SYNC_FEATURE]


def test_every_finding_has_the_report_columns_and_side_cloud():
    found = run([("user", user("vp@contoso.com", proxyAddresses=["SMTP:vp@contoso.com"]))], ad=ad_index(),
                features=BLOCKED)
    assert found and all(sorted(f) == sorted(FIELDS) and f["side"] == "cloud" for f in found)
    assert set(scan.RULES) == {"provisioning_error", "resiliency_placeholder", "preprovisioned_cloud_user",
                               "recycle_bin_holder", "admin_role_match", "object_type_mismatch", "orphaned_anchor", "object_identifier_mismatch",
                               "sync_feature"}


# -- 1. provisioning errors ----------------------------------------------------------------------

def test_provisioning_errors_on_users_groups_and_contacts_name_the_holder():
    holder = user("vp@contoso.com", id="holder", proxyAddresses=["SMTP:vp@contoso.com"])
    dup = user("vp1234@contoso.onmicrosoft.com", id="dup", onPremisesSyncEnabled=True,
               onPremisesProvisioningErrors=[conflict("ProxyAddress", "SMTP:vp@contoso.com")])
    group = {"id": "g1", "displayName": "Sales", "mail": "sales@contoso.com", "proxyAddresses": [],
             "onPremisesProvisioningErrors": [conflict("ProxyAddress", "smtp:x@contoso.com")]}
    contact = {"id": "c1", "displayName": "Partner", "onPremisesProvisioningErrors": [conflict("ProxyAddress", "smtp:y@c.com")]}
    found = run([("user", holder), ("user", dup), ("group", group), ("contact", contact)], ad=None)
    errors = [f for f in found if f["rule"] == "provisioning_error"]
    assert [(f["object"], f["object_class"], f["attribute"], f["value"]) for f in errors] == [
        ("dup", "user", "ProxyAddress", "SMTP:vp@contoso.com"), ("g1", "group", "ProxyAddress", "smtp:x@contoso.com"),
        ("c1", "contact", "ProxyAddress", "smtp:y@c.com")]
    assert errors[0]["severity"] == "error" and errors[0]["action"] == "COMPLETE"
    assert "2026-11-01T08:00:00Z" in errors[0]["message"]


def test_the_holder_read_after_the_quarantined_object_is_named_too():
    dup = user("vp1234@contoso.onmicrosoft.com", id="dup", onPremisesSyncEnabled=True,
               onPremisesProvisioningErrors=[conflict("UserPrincipalName", "vp@contoso.com")])
    holder = user("vp@contoso.com", id="holder")
    found = run([("user", dup), ("user", holder)], ad=ad_index())
    (error,) = [f for f in found if f["rule"] == "provisioning_error"]
    assert error["conflicts_with"] == "holder"


@pytest.mark.parametrize("error_filter, expected", [
    ({}, ["a", "b", "c"]),
    ({"property": "UserPrincipalName"}, ["a"]),
    ({"property": "ProxyAddresses"}, ["b", "c"]),          # MSOnline's spelling
    ({"value": "b@contoso.com"}, ["b"]),                   # without the smtp: prefix
    ({"value": "SMTP:B@contoso.com"}, ["b"]),
    ({"search": "car"}, ["c"]),                            # display name starts with it
    ({"search": "b@"}, ["b"]),                             # an address starts with it
    ({"max_results": 2}, ["a", "b"]),
    ({"property": "proxyaddress", "max_results": 1}, ["b"]),
])
def test_provisioning_errors_are_filtered_as_get_msoldirsyncprovisioningerror_did(error_filter, expected):
    objects = [
        ("user", user("a1234@contoso.onmicrosoft.com", id="a", displayName="Anna",
                      onPremisesProvisioningErrors=[conflict("UserPrincipalName", "a@contoso.com")])),
        ("user", user("b@contoso.com", id="b", displayName="Bert", proxyAddresses=["SMTP:b@contoso.com"],
                      onPremisesProvisioningErrors=[conflict("ProxyAddress", "smtp:b@contoso.com")])),
        ("contact", {"id": "c", "displayName": "Carla", "onPremisesProvisioningErrors": [
            conflict("ProxyAddress", "smtp:carla@contoso.com")]}),
    ]
    found = run(objects, error_filter=error_filter)
    assert [f["object"] for f in found if f["rule"] == "provisioning_error"] == expected


# -- 2. resiliency placeholders -------------------------------------------------------------------

def placeholder(**kw):
    return user("vp4821@contoso.onmicrosoft.com", id="dup", onPremisesSyncEnabled=True, onPremisesImmutableId=ANCHOR,
                onPremisesSamAccountName="vp", onPremisesProvisioningErrors=[
                    conflict("UserPrincipalName", "vp@contoso.com"), conflict("ProxyAddress", "SMTP:vp@contoso.com")],
                **kw)


def test_a_placeholder_names_the_cloud_only_user_it_collided_with_and_the_link_that_fixes_it():
    intended = user("vp@contoso.com", id="intended", proxyAddresses=["SMTP:vp@contoso.com"], mail="vp@contoso.com")
    found = run([("user", placeholder()), ("user", intended)], ad=ad_index())
    (hit,) = [f for f in found if f["rule"] == "resiliency_placeholder"]
    assert (hit["object"], hit["severity"], hit["value"]) == ("dup", "error", "vp4821@contoso.onmicrosoft.com")
    assert hit["conflicts_with"] == "intended"
    # Primary SMTP and UPN agree: a high-confidence proposal, by DN and object id, unconfirmed.
    assert hit["link"]["ad"] == VP_DN and hit["link"]["cloud"] == "intended"
    assert hit["link"]["proposal"]["confidence"] == "high" and hit["link"]["proposal"]["confirmed"] is False
    assert "proposal.confirmed" in hit["message"]


def test_without_ad_the_placeholder_names_its_ad_user_by_what_graph_says():
    intended = user("vp@contoso.com", id="intended")
    found = run([("user", intended), ("user", placeholder())], ad=None)
    (hit,) = [f for f in found if f["rule"] == "resiliency_placeholder"]
    # The placeholder's quarantined UPN is the AD user's; the holder has no SMTP address: UPN alone.
    assert (hit["link"]["ad"], hit["link"]["cloud"]) == ("vp", "intended")
    assert hit["link"]["proposal"] == {"confidence": "medium", "confirmed": False, "evidence": [
        "userPrincipalName vp@contoso.com is the cloud user's userPrincipalName"]}
    by_dn = run([("user", intended), ("user", placeholder(onPremisesDistinguishedName=VP_DN))], ad=None)
    (hit,) = [f for f in by_dn if f["rule"] == "resiliency_placeholder"]
    assert hit["link"]["ad"] == VP_DN, "the DN when Graph has it"


def test_a_placeholder_whose_collided_user_holds_the_address_only_as_an_alias_proposes_nothing():
    holder = user("vera@contoso.com", id="vera", proxyAddresses=["SMTP:vera@contoso.com", "smtp:vp@contoso.com"])
    dup = user("vp4821@contoso.onmicrosoft.com", id="dup", onPremisesSyncEnabled=True, onPremisesImmutableId=ANCHOR,
               onPremisesProvisioningErrors=[conflict("UserPrincipalName", "vp@contoso.com")])
    found = run([("user", holder), ("user", dup)], ad=ad_index())
    (hit,) = [f for f in found if f["rule"] == "resiliency_placeholder"]
    assert hit["conflicts_with"] == "vera" and hit["link"] is None
    assert "no link is proposed" in hit["message"] and "cloud: vera" in hit["message"]


def test_a_placeholder_that_collided_with_a_synced_user_is_an_on_premises_duplicate_not_a_link():
    other = user("vp@contoso.com", id="other", onPremisesSyncEnabled=True, onPremisesImmutableId="b3RoZXI=")
    found = run([("user", other), ("user", placeholder())], ad=None)
    (hit,) = [f for f in found if f["rule"] == "resiliency_placeholder"]
    assert hit["conflicts_with"] == "other" and hit["link"] is None
    assert "on-premises" in hit["message"]


@pytest.mark.parametrize("candidate", [
    user("room4821@contoso.onmicrosoft.com", onPremisesSyncEnabled=True),     # digits, but no recorded conflict
    user("vp4821@contoso.onmicrosoft.com", onPremisesProvisioningErrors=[conflict("UserPrincipalName", "vp@contoso.com")]),
    user("vp48@contoso.onmicrosoft.com", onPremisesSyncEnabled=True,            # not four digits
         onPremisesProvisioningErrors=[conflict("UserPrincipalName", "vp@contoso.com")]),
    user("vp4821@contoso.com", onPremisesSyncEnabled=True,                      # not the initial domain
         onPremisesProvisioningErrors=[conflict("UserPrincipalName", "vp@contoso.com")]),
])
def test_only_the_documented_placeholder_shape_counts(candidate):
    assert scan.placeholder_of(candidate, "contoso.onmicrosoft.com") is None


def test_the_placeholder_shape_is_the_planners():
    assert scan.placeholder_of(placeholder(), "contoso.onmicrosoft.com") == "vp@contoso.com"
    assert scan.placeholder_of(placeholder(), None) == "vp@contoso.com"  # domains unread: any onmicrosoft.com


# -- 3. pre-provisioned cloud users ---------------------------------------------------------------

def test_a_cloud_only_user_holding_an_address_ad_brings_is_a_preprovisioned_candidate():
    found = run([("user", user("vera@contoso.com", id="c", proxyAddresses=["SMTP:vp@contoso.com"]))], ad=ad_index(),
                features=BLOCKED)
    (hit,) = found
    assert (hit["rule"], hit["severity"], hit["attribute"], hit["value"]) == (
        "preprovisioned_cloud_user", "warning", "proxyAddresses", "vp@contoso.com")
    # The AD user's primary SMTP address is the cloud user's, nothing else agrees: medium.
    assert hit["conflicts_with"] == VP_DN and (hit["link"]["ad"], hit["link"]["cloud"]) == (VP_DN, "c")
    assert hit["link"]["proposal"] == {"confidence": "medium", "confirmed": False, "evidence": [
        "primary SMTP address vp@contoso.com is the cloud user's primary SMTP address"]}


def test_one_finding_per_cloud_user_even_when_upn_and_address_both_match():
    found = run([("user", user("vp@contoso.com", proxyAddresses=["SMTP:vp@contoso.com"]))], ad=ad_index(),
                features=BLOCKED)
    assert rules(found) == ["preprovisioned_cloud_user"] and found[0]["attribute"] == "userPrincipalName"


SOFT_KEYS = {VP_DN: ("vp@contoso.com", "vp@contoso.com")}


@pytest.mark.parametrize("cloud,features,finds", [
    # Equal primary SMTP addresses: the first sync joins them (How to use SMTP matching): no conflict.
    (user("vera@contoso.com", proxyAddresses=["SMTP:vp@contoso.com"]), {}, False),
    # Equal UPNs, different primaries: joined only with softMatchOnUpnEnabled (on by default).
    (user("vp@contoso.com", proxyAddresses=["SMTP:vera@contoso.com"]), {}, False),
    (user("vp@contoso.com", proxyAddresses=["SMTP:vera@contoso.com"]), {"softMatchOnUpnEnabled": False}, True),
    # The address only as an alias: no soft match, a duplicate.
    (user("vera@contoso.com", proxyAddresses=["SMTP:vera@contoso.com", "smtp:vp@contoso.com"]), {}, True),
    # Soft match blocked by the tenant.
    (user("vera@contoso.com", proxyAddresses=["SMTP:vp@contoso.com"]), {"blockSoftMatchEnabled": True}, True),
])
def test_a_soft_match_the_first_sync_makes_is_no_finding_one_it_refuses_a_warning(cloud, features, finds):
    found = run([("user", cloud)], ad=ad_index(soft_keys=SOFT_KEYS), features=features)
    if not finds:
        assert found == []
        return
    (hit,) = found
    assert (hit["rule"], hit["severity"]) == ("preprovisioned_cloud_user", "warning"), hit
    assert "soft match will not join them" in hit["message"]
    if "smtp:vp@contoso.com" in cloud["proxyAddresses"]:
        assert hit["link"] is None, "an alias alone proposes nothing"
    else:
        assert hit["link"]["ad"] == VP_DN and hit["link"]["proposal"]["confidence"] == "medium"


def test_unreadable_features_leave_the_soft_match_undecided_so_it_stays_a_warning():
    cloud = scan.CloudScan(ad_index(soft_keys=SOFT_KEYS), DOMAINS, None)
    (hit,) = cloud.add_user(user("vera@contoso.com", proxyAddresses=["SMTP:vp@contoso.com"]))
    assert hit["severity"] == "warning"


def test_a_synced_user_mapped_to_another_on_premises_object_than_its_anchor_holder_is_an_error():
    old, new = "3ab39606-c642-489b-84b6-58c038d3ef39", "0b1c3ec4-2d2a-4b5f-9e0e-5ad2e1c3d4f5"
    synced = user("vp@contoso.com", onPremisesSyncEnabled=True, onPremisesImmutableId=ANCHOR,
                  onPremisesObjectIdentifier=old)
    (hit,) = run([("user", synced)], ad=ad_index(object_guids={VP_DN: new}))
    assert (hit["rule"], hit["severity"], hit["value"], hit["conflicts_with"]) == (
        "object_identifier_mismatch", "error", old, VP_DN)
    assert "AttributeUpdateNotAllowed" in hit["message"] or "MC1263280" in hit["message"]
    assert run([("user", synced)], ad=ad_index(object_guids={VP_DN: old.upper()})) == [], "same GUID, any case"
    allowed = {"allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled": True}
    assert run([("user", synced)], ad=ad_index(object_guids={VP_DN: new}), features=allowed) == []
    unknown = dict(synced)
    del unknown["onPremisesObjectIdentifier"]
    assert run([("user", unknown)], ad=ad_index(object_guids={VP_DN: new})) == [], "a property Graph lacks says nothing"


def test_synced_users_and_users_nobody_brings_are_not_preprovisioned():
    synced = user("vp@contoso.com", onPremisesSyncEnabled=True, onPremisesImmutableId=ANCHOR)
    stranger = user("someone@contoso.com")
    assert run([("user", synced), ("user", stranger)], ad=ad_index()) == []


def test_without_ad_no_rule_that_needs_ad_runs():
    found = run([("user", user("vp@contoso.com", onPremisesImmutableId=STALE)),
                 ("deleted_user", user("vp@contoso.com", id="d1", onPremisesImmutableId=ANCHOR)),
                 ("group", {"id": "g", "displayName": "Sales", "mail": "vp@contoso.com"})],
                ad=None, roles={"id-vp": {"active": [{"id": GA, "displayName": "Global Administrator"}]}})
    assert found == []


# -- 4. soft-deleted holders ----------------------------------------------------------------------

def test_a_soft_deleted_user_holding_an_anchor_is_restored_by_the_hard_match():
    gone = user("0123456789abcdef0123456789abcdefvp@contoso.com", id="d1", onPremisesImmutableId=ANCHOR)
    (hit,) = run([("deleted_user", gone)], ad=ad_index())
    assert (hit["rule"], hit["attribute"], hit["value"]) == ("recycle_bin_holder", "onPremisesImmutableId", ANCHOR)
    assert hit["link"] is None and "restores" in hit["message"]
    assert "restore it on purpose by declaring it by its object id" in hit["message"] and "cloud: 'd1'" in hit["message"]


def test_a_soft_deleted_user_holding_an_address_by_its_renamed_upn_or_mail():
    renamed = user("0123456789abcdef0123456789abcdefvp@contoso.com", id="d1")
    mailbox = user("old@contoso.com", id="d2", mail="sales@contoso.com")
    found = run([("deleted_user", renamed), ("deleted_user", mailbox), ("deleted_user", user("x@contoso.com"))],
                ad=ad_index())
    # Never proposed: a soft-deleted namesake is a finding that says how to restore it on purpose.
    assert [(f["object"], f["value"], f["link"]) for f in found] == [
        ("d1", "vp@contoso.com", None), ("d2", "sales@contoso.com", None)]
    assert all("{ad: '%s', cloud: '%s'}" % (f["conflicts_with"], f["object"]) in f["message"] for f in found)
    assert all("not proposed" in f["message"] for f in found)


# -- 5. admin role holders a match would hit ------------------------------------------------------

def test_a_soft_match_onto_an_active_admin_is_refused():
    admin = user("vp@contoso.com", id="admin")
    found = run([("user", admin)], ad=ad_index(), roles={"admin": {"active": [{"id": GA, "displayName": "Global Administrator"}],
                                                                   "eligible": []}})
    (hit,) = [f for f in found if f["rule"] == "admin_role_match"]
    assert hit["severity"] == "error" and "ExistingAdminRoleConflict" in hit["message"]
    assert "Global Administrator" in hit["message"] and hit["conflicts_with"] == VP_DN


def test_an_eligible_role_does_not_refuse_a_soft_match_but_a_privileged_one_refuses_a_hard_match():
    soft = user("vp@contoso.com", id="soft")
    hard = user("stamped@contoso.com", id="hard", onPremisesImmutableId=ANCHOR)
    eligible = {"active": [], "eligible": [{"id": GA, "displayName": "Global Administrator"}]}
    found = run([("user", soft), ("user", hard)], ad=ad_index(), roles={"soft": eligible, "hard": eligible})
    (hit,) = [f for f in found if f["rule"] == "admin_role_match"]
    assert (hit["object"], hit["attribute"], hit["value"]) == ("hard", "onPremisesImmutableId", ANCHOR)
    assert "MC1262584" in hit["message"]


def test_a_role_without_the_privileged_label_does_not_block_a_hard_match():
    hard = user("stamped@contoso.com", id="hard", onPremisesImmutableId=ANCHOR)
    found = run([("user", hard)], ad=ad_index(), roles={"hard": {"active": [EXCHANGE_ADMIN]}})
    assert [f for f in found if f["rule"] == "admin_role_match"] == []


def test_role_holders_are_asked_for_the_match_targets_only():
    cloud = scan.CloudScan(ad_index(), DOMAINS, {})
    cloud.add_user(user("vp@contoso.com", id="soft"))
    cloud.add_user(user("stamped@contoso.com", id="hard", onPremisesImmutableId=ANCHOR))
    cloud.add_user(user("nobody@contoso.com", id="nobody"))
    cloud.add_user(user("synced@contoso.com", id="synced", onPremisesSyncEnabled=True, onPremisesImmutableId=ANCHOR))
    assert cloud.match_targets() == ["hard", "soft"]


# -- 6. object type mismatch ----------------------------------------------------------------------

def test_a_cloud_group_or_contact_holding_an_ad_users_address():
    group = {"id": "g", "displayName": "Sales", "mail": "sales@contoso.com", "proxyAddresses": ["SMTP:sales@contoso.com"]}
    contact = {"id": "c", "displayName": "Vera", "proxyAddresses": ["smtp:vp@contoso.com"]}
    found = run([("group", group), ("contact", contact)], ad=ad_index())
    assert [(f["rule"], f["object"], f["object_class"], f["conflicts_with"]) for f in found] == [
        ("object_type_mismatch", "g", "group", SALES_DN), ("object_type_mismatch", "c", "contact", VP_DN)]
    assert all(f["severity"] == "error" and "ObjectTypeMismatch" in f["message"] for f in found)


def test_a_cloud_user_holding_an_ad_groups_address_and_a_group_holding_its_own_address():
    cloud_user = user("staff@contoso.com", id="u")
    synced_group = {"id": "g", "displayName": "All Staff", "proxyAddresses": ["SMTP:staff@contoso.com"],
                    "onPremisesSyncEnabled": True}
    found = run([("user", cloud_user), ("group", synced_group)], ad=ad_index())
    assert [(f["rule"], f["object"]) for f in found] == [("object_type_mismatch", "u")]


# -- 7. orphaned anchors --------------------------------------------------------------------------

def test_a_synced_user_whose_anchor_no_ad_object_holds():
    found = run([("user", user("old@contoso.com", onPremisesSyncEnabled=True, onPremisesImmutableId=STALE)),
                 ("user", user("vp@contoso.com", onPremisesSyncEnabled=True, onPremisesImmutableId=ANCHOR))],
                ad=ad_index())
    (hit,) = found
    assert (hit["rule"], hit["severity"], hit["value"], hit["link"]) == ("orphaned_anchor", "warning", STALE, None)


def test_a_cloud_only_user_with_a_stray_anchor_that_ad_would_soft_match_is_an_error_with_its_link():
    stray = user("vp@contoso.com", id="stray", proxyAddresses=["SMTP:vp@contoso.com"], onPremisesImmutableId=STALE)
    (hit,) = run([("user", stray)], ad=ad_index())
    assert (hit["rule"], hit["severity"], hit["conflicts_with"]) == ("orphaned_anchor", "error", VP_DN)
    assert (hit["link"]["ad"], hit["link"]["cloud"]) == (VP_DN, "stray") and "InvalidSoftMatch" in hit["message"]
    assert hit["link"]["proposal"]["confidence"] == "high" and "force: true" in hit["message"]


# -- 8. sync features -----------------------------------------------------------------------------

def test_features_that_change_the_outcome_are_info_findings():
    cloud = scan.CloudScan(None, DOMAINS, {"blockSoftMatchEnabled": True, "softMatchOnUpnEnabled": False,
                                           "blockCloudObjectTakeoverThroughHardMatchEnabled": True,
                                           "quarantineUponUpnConflictEnabled": True})
    found = cloud.finish()
    assert [(f["rule"], f["severity"], f["attribute"], f["value"]) for f in found] == [
        ("sync_feature", "info", "blockSoftMatchEnabled", True), ("sync_feature", "info", "softMatchOnUpnEnabled", False),
        ("sync_feature", "info", "blockCloudObjectTakeoverThroughHardMatchEnabled", True)]


def test_a_tenant_with_the_default_features_yields_none():
    defaults = {"blockSoftMatchEnabled": False, "softMatchOnUpnEnabled": True,
                "blockCloudObjectTakeoverThroughHardMatchEnabled": False, "quarantineUponUpnConflictEnabled": True,
                "quarantineUponProxyAddressesConflictEnabled": True}
    assert scan.CloudScan(None, DOMAINS, defaults).finish() == []
    assert scan.CloudScan(None, DOMAINS, {}).finish() == []


def test_unreadable_features_are_unknown_not_default():
    (hit,) = scan.CloudScan(None, None, None).finish()
    assert hit["rule"] == "sync_feature" and "unknown" in hit["message"]


# -- memory ----------------------------------------------------------------------------------------

def test_only_addresses_that_cross_rules_need_are_kept():
    cloud = scan.CloudScan(ad_index(), DOMAINS, {})
    for n in range(500):
        cloud.add_user(user("u%d@contoso.com" % n, proxyAddresses=["SMTP:u%d@contoso.com" % n, "smtp:a%d@contoso.com" % n]))
    cloud.add_user(user("vp@contoso.com", id="intended"))
    assert list(cloud._holders) == ["vp@contoso.com"]


# -- the scan asks the engine model, as the planner does (issue 27) ---------------------------------

OLD_GUID, NEW_GUID = "3ab39606-c642-489b-84b6-58c038d3ef39", "0b1c3ec4-2d2a-4b5f-9e0e-5ad2e1c3d4f5"


def test_a_cloud_only_user_with_an_ad_users_anchor_mapped_to_another_object_is_refused_as_the_planner_says():
    stamped = user("stamped@contoso.com", id="stamped", onPremisesImmutableId=ANCHOR, onPremisesObjectIdentifier=OLD_GUID)
    index = ad_index(object_guids={VP_DN: NEW_GUID})
    found = run([("user", stamped)], ad=index)
    (hit,) = found
    assert (hit["rule"], hit["severity"], hit["object"], hit["value"], hit["conflicts_with"]) == (
        "object_identifier_mismatch", "error", "stamped", OLD_GUID, VP_DN)
    assert "cloud-only user stamped@contoso.com" in hit["message"] and "MC1263280" in hit["message"]
    # The engine model says the same for the AD user: AttributeUpdateNotAllowed.
    ad_user = scan.sync.AdUser(VP_DN, NEW_GUID, "3ab39606-c642-489b-84b6-58c038d3ef39", sam="vp", upn="vp@contoso.com")
    assert ad_user.anchor == ANCHOR
    world = scan.sync.World([scan.cloud_object(stamped)], scan.sync.TenantFacts(now=scan.RULES_IN_FORCE))
    assert scan.sync.predict(ad_user, world).error == "AttributeUpdateNotAllowed"
    # The same user mapped to the AD user itself, or without any mapping: a hard match, no finding.
    for identifier in (NEW_GUID, None):
        assert run([("user", dict(stamped, onPremisesObjectIdentifier=identifier))], ad=index) == []
    allowed = {"allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled": True}
    assert run([("user", stamped)], ad=index, features=allowed) == []
    # Before MC1263280 was enforced (a clock before 2026-07-01) the remap was allowed.
    early = scan.CloudScan(index, DOMAINS, {}, now=scan.sync.OBJECT_IDENTIFIER_HARDENING_FROM - 1)
    assert early.add_user(stamped) == []


def test_a_users_secondary_address_held_by_a_groups_primary_is_a_uniqueness_conflict_not_a_type_mismatch():
    index = ad_index(addresses={"vp@contoso.com": VP_DN, "vera.alias@contoso.com": VP_DN}, soft_keys=SOFT_KEYS)
    group = {"id": "g", "displayName": "Aliases", "mail": "vera.alias@contoso.com",
             "proxyAddresses": ["SMTP:vera.alias@contoso.com"]}
    (hit,) = run([("group", group)], ad=index)
    assert (hit["rule"], hit["side"], hit["severity"], hit["object"], hit["value"], hit["conflicts_with"]) == (
        "duplicate_address", "cloud", "error", "g", "vera.alias@contoso.com", VP_DN)
    assert "AttributeValueMustBeUnique" in hit["message"] and "ObjectTypeMismatch" not in hit["message"]


def test_a_users_secondary_address_held_by_a_contact_is_quarantined_by_resiliency():
    index = ad_index(addresses={"vp@contoso.com": VP_DN, "vera.alias@contoso.com": VP_DN}, soft_keys=SOFT_KEYS)
    contact = {"id": "c", "displayName": "Vera", "proxyAddresses": ["SMTP:vera.alias@contoso.com"]}
    (hit,) = run([("contact", contact)], ad=index)
    assert (hit["rule"], hit["object"], hit["conflicts_with"]) == ("duplicate_address", "c", VP_DN)
    assert "quarantined" in hit["message"]
    # The user's primary held by a contact is still the soft match across types.
    primary = {"id": "c2", "displayName": "Vera", "proxyAddresses": ["SMTP:vp@contoso.com"]}
    (hit,) = run([("contact", primary)], ad=index)
    assert hit["rule"] == "object_type_mismatch"

"""The sync prediction, one rule at a time (sources in the module's docstrings)."""

import calendar
import uuid

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._sync import prediction as sync
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import SourceAnchor

NOW = calendar.timegm((2026, 12, 1, 0, 0, 0))
GA = {"name": "Global Administrator", "template_id": "62e90394-69f5-4237-9190-012177145e10", "assignment": "active"}
EXCHANGE = {"name": "Exchange Administrator", "template_id": "29232cdf-9323-42fd-ade2-1d097af3e4de",
            "assignment": "active"}
GUID = "3ab39606-c642-489b-84b6-58c038d3ef39"
ANCHOR = "BpazOkLGm0iEtljAONPvOQ=="


def ad(sam="vp", primary="vp@contoso.com", guid=GUID, **kw):
    kw.setdefault("proxy_addresses", ["SMTP:" + primary] if primary else [])
    kw.setdefault("upn", "%s@contoso.com" % sam)
    return sync.AdUser("CN=%s,OU=Staff,DC=contoso,DC=test" % sam, guid, sam=sam, mail=primary, **kw)


def cloud(id="c1", upn="vp@contoso.com", mailbox=True, **kw):
    kw.setdefault("mail", upn)
    kw.setdefault("proxy_addresses", ["SMTP:" + upn] if kw["mail"] else [])
    return sync.CloudObject(id, upn=upn, mailbox=mailbox, **kw)


def world(*objects, **features):
    facts = sync.TenantFacts(features, "contoso.onmicrosoft.com", ["contoso.com"], now=NOW)
    return sync.World(objects, facts)


def test_anchor_is_the_consistency_guid_or_else_the_object_guid():
    assert ad().anchor == ANCHOR
    other = str(uuid.uuid4())
    assert ad(consistency_guid=other).anchor == SourceAnchor.from_guid(other).immutable_id


def test_nothing_in_the_way_provisions_with_the_ad_upn():
    prediction = sync.predict(ad(), world())
    assert (prediction.outcome, prediction.upn, prediction.quarantined) == ("provision", "vp@contoso.com", [])


@pytest.mark.parametrize("user,why", [
    (ad(admin_description="User_contractor"), "adminDescription"),
    (ad(in_scope_ou=False), "outside the synchronised OUs"),
])
def test_out_of_scope(user, why):
    prediction = sync.predict(user, world())
    assert prediction.outcome == "out-of-scope" and why in prediction.reason


def test_leaving_the_scope_soft_deletes_the_joined_user():
    joined = cloud(immutable_id=ANCHOR, sync_enabled=True, object_identifier=GUID)
    prediction = sync.predict(ad(admin_description="user_gone"), world(joined))
    assert prediction.soft_deletes == ["c1"]


def test_an_object_the_engine_joined_keeps_its_join():
    joined = cloud(immutable_id=ANCHOR, sync_enabled=True, object_identifier=GUID)
    assert sync.predict(ad(), world(joined)).outcome == "joined"


def test_unknown_object_identifier_falls_back_to_the_distinguished_name():
    joined = cloud(immutable_id=ANCHOR, sync_enabled=True, object_identifier=sync.UNKNOWN,
                   dn="CN=vp,OU=Staff,DC=contoso,DC=test")
    assert sync.predict(ad(), world(joined)).outcome == "joined"


def test_a_changed_consistency_guid_of_a_joined_object_is_source_anchor_changed():
    joined = cloud(immutable_id=ANCHOR, sync_enabled=True, object_identifier=GUID)
    prediction = sync.predict(ad(consistency_guid=str(uuid.uuid4())), world(joined))
    assert (prediction.outcome, prediction.error) == ("error", "SourceAnchorChanged")


def test_hard_match_wins_and_restores_a_soft_deleted_user():
    deleted = cloud(immutable_id=ANCHOR, deleted=True, deleted_at=NOW - 86400)
    prediction = sync.predict(ad(), world(deleted))
    assert (prediction.outcome, prediction.target, prediction.restored) == ("hard", "c1", True)


def test_a_user_deleted_more_than_30_days_ago_is_gone():
    deleted = cloud(immutable_id=ANCHOR, deleted=True, deleted_at=NOW - 31 * 86400)
    assert sync.predict(ad(), world(deleted)).outcome == "provision"


def test_takeover_block_refuses_a_cloud_managed_target():
    prediction = sync.predict(ad(), world(cloud(immutable_id=ANCHOR),
                                          blockCloudObjectTakeoverThroughHardMatchEnabled=True))
    assert prediction.error == "InvalidHardMatch"


def test_takeover_block_lets_a_synced_target_through():
    synced = cloud(immutable_id=ANCHOR, sync_enabled=True)
    assert sync.predict(ad(), world(synced, blockCloudObjectTakeoverThroughHardMatchEnabled=True)).outcome == "hard"


@pytest.mark.parametrize("role,outcome", [(dict(GA, assignment="eligible"), "error"), (EXCHANGE, "hard")])
def test_privileged_role_hardening_counts_eligible_and_only_privileged_roles(role, outcome):
    assert sync.predict(ad(), world(cloud(immutable_id=ANCHOR, roles=[role]))).outcome == outcome


def test_privileged_role_hardening_starts_in_june_2026():
    w = world(cloud(immutable_id=ANCHOR, roles=[GA]))
    w.tenant.now = calendar.timegm((2026, 5, 31, 0, 0, 0))
    assert sync.predict(ad(), w).outcome == "hard"


def test_object_identifier_hardening_refuses_a_remap_unless_the_feature_allows_it():
    mapped = cloud(immutable_id=ANCHOR, object_identifier=str(uuid.uuid4()))
    assert sync.predict(ad(), world(mapped)).error == "AttributeUpdateNotAllowed"
    assert sync.predict(ad(), world(mapped, allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled=True)).outcome \
        == "hard"


def test_an_unknown_object_identifier_is_a_warning_not_an_assumption():
    prediction = sync.predict(ad(), world(cloud(immutable_id=ANCHOR, object_identifier=sync.UNKNOWN)))
    assert prediction.outcome == "hard" and "unknown" in prediction.warnings[0]


def test_soft_match_on_the_primary_smtp_of_a_mailbox():
    assert sync.predict(ad(), world(cloud())).outcome == "soft-smtp"


@pytest.mark.parametrize("target", [
    cloud(mailbox=False),                                                   # no mailbox
    cloud(upn="other@contoso.com", proxy_addresses=["SMTP:other@contoso.com", "smtp:vp@contoso.com"]),  # alias
])
def test_no_soft_match_on_an_alias_or_without_a_mailbox(target):
    prediction = sync.predict(ad(upn="vp2@contoso.com"), world(target))
    assert prediction.outcome == "provision" and prediction.quarantined == [("ProxyAddress", "SMTP:vp@contoso.com")]


def test_soft_match_on_upn_only_with_the_feature():
    target = cloud(mail=None, proxy_addresses=[])
    assert sync.predict(ad(), world(target)).outcome == "soft-upn"
    prediction = sync.predict(ad(), world(target, softMatchOnUpnEnabled=False))
    assert prediction.outcome == "provision" and prediction.upn == "vp####@contoso.onmicrosoft.com"


def test_block_soft_match_provisions_a_resiliency_duplicate():
    prediction = sync.predict(ad(), world(cloud(), blockSoftMatchEnabled=True, softMatchOnUpnEnabled=False))
    assert prediction.outcome == "provision"
    assert prediction.quarantined == [("UserPrincipalName", "vp@contoso.com"), ("ProxyAddress", "SMTP:vp@contoso.com")]


def test_strict_world_fails_with_attribute_value_must_be_unique():
    prediction = sync.predict(ad(), world(cloud(), blockSoftMatchEnabled=True,
                                          quarantineUponProxyAddressesConflictEnabled=False))
    assert (prediction.error, prediction.attribute) == ("AttributeValueMustBeUnique", "proxyAddresses")


@pytest.mark.parametrize("kind", ["group", "contact"])
def test_a_group_or_contact_holding_the_primary_is_object_type_mismatch(kind):
    holder = sync.CloudObject("g1", kind, mail="vp@contoso.com", proxy_addresses=["SMTP:vp@contoso.com"])
    assert sync.predict(ad(), world(holder)).error == "ObjectTypeMismatch"


def test_active_admin_role_is_existing_admin_role_conflict_eligible_is_not():
    assert sync.predict(ad(), world(cloud(roles=[GA]))).error == "ExistingAdminRoleConflict"
    assert sync.predict(ad(), world(cloud(roles=[dict(GA, assignment="eligible")]))).outcome == "soft-smtp"


def test_candidate_with_immutable_id_is_invalid_soft_match_only_without_resiliency():
    orphan = cloud(immutable_id="RDHiRneDPkiofrZ2nbYu7Q==")
    assert sync.predict(ad(), world(orphan, quarantineUponProxyAddressesConflictEnabled=False)).error \
        == "InvalidSoftMatch"
    assert sync.predict(ad(), world(orphan)).outcome == "provision"


def test_soft_deleted_mailbox_reserves_its_address_lab_assumption():
    deleted = cloud(deleted=True, deleted_at=NOW - 86400)
    assert sync.predict(ad(), world(deleted)).error == "AttributeValueMustBeUnique"
    w = world(deleted)
    w.tenant.soft_deleted_mailbox_reserves_addresses = False
    assert sync.predict(ad(), w).outcome == "provision"


def test_user_alias_against_a_group_primary_still_fails():
    group = sync.CloudObject("g1", "group", mail="sales@contoso.com", proxy_addresses=["SMTP:sales@contoso.com"])
    user = ad(proxy_addresses=["SMTP:vp@contoso.com", "smtp:sales@contoso.com"])
    assert sync.predict(user, world(group)).error == "AttributeValueMustBeUnique"


def test_non_routable_upn_moves_to_the_initial_domain():
    assert sync.predict(ad(upn="vp@corp.local"), world()).upn == "vp@contoso.onmicrosoft.com"


def test_one_cycle_sees_what_earlier_users_did():
    first = ad("a", "shared@contoso.com", guid=str(uuid.uuid4()))
    second = ad("b", "shared@contoso.com", guid=str(uuid.uuid4()))
    results, after = sync.predict_cycle([first, second], world())
    assert [r.outcome for r in results] == ["provision", "provision"]
    assert results[1].quarantined == [("ProxyAddress", "SMTP:shared@contoso.com")]
    assert len(after.objects()) == 2


def test_predicting_ten_thousand_users_is_linear():
    users = [ad("u%d" % i, "u%d@contoso.com" % i, guid=str(uuid.UUID(int=i + 1))) for i in range(10000)]
    clouds = [cloud("c%d" % i, "u%d@contoso.com" % i) for i in range(10000)]
    w = world(*clouds)
    results = [sync.predict(u, w) for u in users]
    assert all(r.outcome == "soft-smtp" for r in results)


def test_overlay_changes_leave_the_parent_alone():
    parent = world(cloud())
    child = parent.overlay()
    child.remove("c1")
    assert child.get("c1") is None and parent.get("c1") is not None
    assert sync.predict(ad(), child).outcome == "provision" and sync.predict(ad(), parent).outcome == "soft-smtp"

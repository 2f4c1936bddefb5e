import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError
from ansible_collections.syncfix.entra.plugins.module_utils._rules.hard_match import (
    UserFacts, describe, fact_warnings, parse_items, plan_immutable_id,
)

VALUE = "BpazOkLGm0iEtljAONPvOQ=="
OTHER = "RDHiRneDPkiofrZ2nbYu7Q=="


def user(**graph):
    base = {"id": "u1", "userPrincipalName": "vp@contoso.com", "onPremisesImmutableId": None,
            "onPremisesSyncEnabled": None, "onPremisesObjectIdentifier": None}
    base.update(graph)
    roles = base.pop("roles", ())
    return UserFacts(base, roles, federated_domains=["Fed.Contoso.com"])


def test_cloud_only_user_without_value_is_stamped():
    plan = plan_immutable_id(user(), VALUE)
    assert plan.changed and plan.refusal is None and not plan.move_upn


def test_user_that_already_has_the_value_is_left_alone_whatever_else_is_true():
    plan = plan_immutable_id(user(onPremisesImmutableId=VALUE, onPremisesSyncEnabled=True, roles=["r"]), VALUE)
    assert not plan.changed and plan.refusal is None


@pytest.mark.parametrize("facts,holders,words", [
    (dict(onPremisesSyncEnabled=True), (), ["synced from on-premises", "out of the sync scope", "source of authority"]),
    (dict(roles=["62e90394-69f5-4237-9190-012177145e10"]), (), ["directory roles", "62e90394", "security hardening"]),
    (dict(onPremisesObjectIdentifier="S-1-5-21-1"), (), ["onPremisesObjectIdentifier S-1-5-21-1", "security hardening"]),
    ({}, [{"id": "u2", "userPrincipalName": "old@contoso.com", "deleted": True}],
     ["already held by old@contoso.com (u2, soft-deleted", "state=purged"]),
    ({}, [{"id": "u3", "userPrincipalName": "ann@contoso.com", "deleted": False}], ["already held by ann@contoso.com (u3)"]),
    (dict(onPremisesImmutableId=OTHER), (), ["already has immutable id " + OTHER, "force: true"]),
    (dict(userPrincipalName="vp@fed.contoso.com"), (), ["federated domain fed.contoso.com", "federated_upn_workaround"]),
])
def test_each_refusal_names_the_user_and_the_way_out(facts, holders, words):
    plan = plan_immutable_id(user(**facts), VALUE, holders)
    assert not plan.changed and plan.refusal
    for word in words:
        assert word in plan.refusal


def test_holding_the_value_yourself_is_not_a_conflict():
    assert plan_immutable_id(user(), VALUE, [{"id": "u1", "userPrincipalName": "vp@contoso.com"}]).refusal is None


def test_force_replaces_a_different_value():
    assert plan_immutable_id(user(onPremisesImmutableId=OTHER), VALUE, force=True).changed


def test_federated_workaround_plans_the_upn_move():
    plan = plan_immutable_id(user(userPrincipalName="vp@FED.contoso.com"), VALUE, federated_upn_workaround=True)
    assert plan.changed and plan.move_upn


def test_clearing_is_refused_for_synced_users_and_federated_upns():
    assert plan_immutable_id(user(onPremisesImmutableId=VALUE), None, force=True).changed
    assert "synced" in plan_immutable_id(user(onPremisesImmutableId=VALUE, onPremisesSyncEnabled=True), None,
                                         force=True).refusal
    assert not plan_immutable_id(user(), None).changed


def test_clearing_needs_force_as_replacing_does():
    plan = plan_immutable_id(user(onPremisesImmutableId=VALUE), None)
    assert not plan.changed and "Set force: true to clear it" in plan.refusal and VALUE in plan.refusal


def test_an_administrators_anchor_is_not_cleared_even_with_force():
    admin = UserFacts({"id": "u1", "userPrincipalName": "admin@contoso.com", "onPremisesImmutableId": VALUE},
                      role_ids=["62e90394-69f5-4237-9190-012177145e10"])
    plan = plan_immutable_id(admin, None, force=True)
    assert not plan.changed and "PRIVILEGED" in plan.refusal and "even with force" in plan.refusal


def test_clearing_a_federated_upn_is_refused_with_the_way_out():
    plan = plan_immutable_id(user(userPrincipalName="vp@fed.contoso.com", onPremisesImmutableId=VALUE), None)
    assert not plan.changed and not plan.move_upn
    for word in ["vp@fed.contoso.com", "federated domain fed.contoso.com", "requires an immutable id",
                 "move the UPN to a managed domain first and keep it there"]:
        assert word in plan.refusal


def test_a_tenant_blocking_cloud_takeover_refuses_the_stamp_but_not_the_clear():
    blocked = {"blockCloudObjectTakeoverThroughHardMatchEnabled": True, "blockSoftMatchEnabled": False}
    plan = plan_immutable_id(user(), VALUE, features=blocked)
    assert not plan.changed and "blockCloudObjectTakeoverThroughHardMatchEnabled=true" in plan.refusal
    assert "InvalidHardMatch" in plan.refusal and "vp@contoso.com" in plan.refusal
    assert plan_immutable_id(user(onPremisesImmutableId=VALUE), None, force=True, features=blocked).changed, \
        "clearing links nothing"
    assert plan_immutable_id(user(), VALUE, features={"blockCloudObjectTakeoverThroughHardMatchEnabled": False}).changed
    assert plan_immutable_id(user(), VALUE, features=None).changed, "unknown features are the caller's warning"


def test_an_object_identifier_graph_did_not_return_is_unknown_not_absent():
    assert user().object_identifier_known
    facts = UserFacts({"id": "u1", "userPrincipalName": "vp@contoso.com"})
    assert not facts.object_identifier_known and facts.object_identifier is None


# --- 2026 hard-match hardening ---------------------------------------------------------------

VALUE_GUID = "3ab39606-c642-489b-84b6-58c038d3ef39"   # what VALUE decodes to
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
EXCHANGE_ADMINISTRATOR = "29232cdf-9323-42fd-ade2-1d097af3e4de"  # no PRIVILEGED label
REMAP_ERROR = "Hard match operation blocked due to security hardening. Review OnPremisesObjectIdentifier mapping."


def test_a_role_holder_is_stamped_only_with_its_own_opt_in():
    # Issue 26, finding 4: a role without the PRIVILEGED label does not block the sync, but
    # linking the account hands the role over, so the item needs allow_role_holder; force is
    # not it.
    custom = "3b1c0d3e-8f7a-4c2b-9d5e-6a7b8c9d0e1f"
    for roles in ([EXCHANGE_ADMINISTRATOR], [custom]):
        refused = plan_immutable_id(user(roles=roles), VALUE, force=True)
        assert not refused.changed and "allow_role_holder: true" in refused.refusal and roles[0] in refused.refusal
        assert plan_immutable_id(user(roles=roles), VALUE, allow_role_holder=True).changed


def test_a_role_holders_anchor_is_cleared_only_with_its_own_opt_in():
    holder = user(onPremisesImmutableId=VALUE, roles=[EXCHANGE_ADMINISTRATOR])
    refused = plan_immutable_id(holder, None, force=True)
    assert not refused.changed and "allow_role_holder: true" in refused.refusal and "soft match" in refused.refusal
    assert plan_immutable_id(holder, None, force=True, allow_role_holder=True).changed
    assert "Set force: true" in plan_immutable_id(holder, None, allow_role_holder=True).refusal


def test_no_opt_in_lifts_a_privileged_role():
    for desired, facts in ((VALUE, {}), (None, {"onPremisesImmutableId": VALUE})):
        plan = plan_immutable_id(user(roles=[GLOBAL_ADMINISTRATOR], **facts), desired, force=True,
                                 allow_role_holder=True)
        assert not plan.changed and "PRIVILEGED" in plan.refusal


def test_only_privileged_roles_block_the_hard_match():
    assert plan_immutable_id(user(roles=[EXCHANGE_ADMINISTRATOR]), VALUE, allow_role_holder=True).changed
    plan = plan_immutable_id(user(roles=[EXCHANGE_ADMINISTRATOR, GLOBAL_ADMINISTRATOR.upper()]), VALUE)
    assert not plan.changed
    for word in ["vp@contoso.com", "labelled PRIVILEGED", "MC1262584", "InvalidHardMatch", GLOBAL_ADMINISTRATOR.upper()]:
        assert word in plan.refusal
    assert EXCHANGE_ADMINISTRATOR not in plan.refusal, "only the privileged roles are named"


@pytest.mark.parametrize("role", ["fe930be7-5e62-47db-91af-98c3a49a38b1", "729827e3-9c14-49f7-bb1b-9608f156bbb8",
                                  "f2ef992c-3afb-46b9-b7cf-a126ee74c451", "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
                                  "e8611ab8-c189-46e8-94e1-60213ab1f814"],
                         ids=["user-admin", "helpdesk-admin", "global-reader", "hybrid-identity-admin",
                              "privileged-role-admin"])
def test_each_privileged_role_blocks(role):
    assert "MC1262584" in plan_immutable_id(user(roles=[role]), VALUE).refusal


def test_an_object_identifier_of_the_same_ad_object_is_no_reason_to_refuse():
    assert plan_immutable_id(user(onPremisesObjectIdentifier=VALUE_GUID), VALUE).changed
    assert plan_immutable_id(user(onPremisesObjectIdentifier="{%s}" % VALUE_GUID.upper()), VALUE).changed
    # mS-DS-ConsistencyGuid set to another value: the anchor is not the objectGUID, object_guid says which is.
    assert plan_immutable_id(user(onPremisesObjectIdentifier="46e23144-8377-483e-a87e-b6769db62eed"), VALUE,
                             object_guid="46E23144-8377-483E-A87E-B6769DB62EED").changed


def test_an_object_identifier_of_another_ad_object_is_refused_with_both_ways_out():
    plan = plan_immutable_id(user(onPremisesObjectIdentifier="46e23144-8377-483e-a87e-b6769db62eed"), VALUE)
    assert not plan.changed
    for word in ["vp@contoso.com", "onPremisesObjectIdentifier 46e23144-8377-483e-a87e-b6769db62eed",
                 "objectGUID " + VALUE_GUID, REMAP_ERROR, "AttributeUpdateNotAllowed", "MC1263280",
                 "PATCH https://graph.microsoft.com/beta/users/u1", '{"onPremisesObjectIdentifier": null}',
                 "User-OnPremisesSyncBehavior.ReadWrite.All", "Hybrid Identity Administrator",
                 "Clear-ADSyncToolsOnPremisesAttribute -Id u1 -onPremisesObjectIdentifier",
                 "allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled"]:
        assert word in plan.refusal
    # object_guid outranks what the anchor decodes to.
    assert "objectGUID 0d9f3a52" in plan_immutable_id(
        user(onPremisesObjectIdentifier=VALUE_GUID), VALUE, object_guid="0d9f3a52-0000-4000-8000-00000000a001").refusal


def test_the_remap_feature_lets_the_identifier_change():
    features = {"allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled": True}
    other = user(onPremisesObjectIdentifier="46e23144-8377-483e-a87e-b6769db62eed")
    assert plan_immutable_id(other, VALUE, features=features).changed
    assert plan_immutable_id(other, "EMP-000123", features=features).changed
    assert not plan_immutable_id(other, VALUE, features={"allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled": False}).changed


def test_an_opaque_anchor_needs_object_guid_when_an_identifier_is_set():
    plan = plan_immutable_id(user(onPremisesObjectIdentifier=VALUE_GUID), "EMP-000123")
    assert not plan.changed
    for word in ["onPremisesObjectIdentifier " + VALUE_GUID, "EMP-000123 is not a GUID", "set object_guid", REMAP_ERROR]:
        assert word in plan.refusal
    assert plan_immutable_id(user(onPremisesObjectIdentifier=VALUE_GUID), "EMP-000123", object_guid=VALUE_GUID).changed
    assert plan_immutable_id(user(), "EMP-000123").changed, "no identifier, nothing to compare"


# --- request parsing and warnings (moved from the module) ------------------------------------

def test_parse_items_turns_each_option_into_the_immutable_id():
    absent, by_guid, by_id, by_consistency = parse_items([
        {"user": "old@contoso.com", "state": "absent"},
        {"user": "vp@contoso.com", "object_guid": VALUE_GUID.upper()},
        {"user": "ann@contoso.com", "immutable_id": "EMP-000123", "object_guid": VALUE_GUID},
        {"user": "bob@contoso.com", "consistency_guid": "46e23144-8377-483e-a87e-b6769db62eed"},
    ], "present", allow_opaque=True)
    assert (absent.desired, absent.state) == (None, "absent")
    assert (by_guid.desired, by_guid.object_guid) == (VALUE, VALUE_GUID)
    assert (by_id.desired, by_id.object_guid) == ("EMP-000123", VALUE_GUID)
    assert (by_consistency.desired, by_consistency.object_guid) == (OTHER, None)


@pytest.mark.parametrize("value,hint", [
    ("BpazOkLGm0iEtljAONPvOQ=", "not Base64"),              # padding lost
    ("BpazOkLGm0iEtljAONPvOR==", "not the canonical Base64"),  # stray low bits
    ("EMP-000123", "not Base64"),
    ("3ab39606-c642-489b-84b6-58c038d3ef39", "give it as object_guid"),
])
def test_a_mistyped_anchor_is_refused_unless_opaque_anchors_are_allowed(value, hint):
    with pytest.raises(InputError) as raised:
        parse_items([{"user": "vp@contoso.com", "immutable_id": value}], "present")
    assert hint in str(raised.value) and "vp@contoso.com" in str(raised.value)
    if "object_guid" not in hint:
        assert "allow_opaque_anchor" in str(raised.value)
        assert parse_items([{"user": "vp@contoso.com", "immutable_id": value}], "present", True)[0].desired == value
    else:
        with pytest.raises(InputError):
            parse_items([{"user": "vp@contoso.com", "immutable_id": value}], "present", True)


def test_canonical_base64_of_another_length_is_an_opaque_anchor_by_default():
    (item,) = parse_items([{"user": "vp@contoso.com", "immutable_id": "RU1QLTAwMDEyMw=="}], "present")
    assert item.desired == "RU1QLTAwMDEyMw=="


def test_parse_items_names_every_bad_item():
    with pytest.raises(InputError) as raised:
        parse_items([
            {"user": "vp@contoso.com", "object_guid": "not-a-guid"},
            {"user": "ann@contoso.com", "immutable_id": VALUE, "consistency_guid": VALUE_GUID},
            {"user": "old@contoso.com", "state": "absent", "immutable_id": VALUE},
            {"user": "none@contoso.com"},
            {"user": None, "immutable_id": VALUE},
            {"user": "bob@contoso.com", "immutable_id": OTHER},
            {"user": "BOB@contoso.com", "state": "absent"},
            {"user": "eve@contoso.com", "object_guid": "46e23144-8377-483e-a87e-b6769db62eed"},
        ], "present")
    message = str(raised.value)
    for text in ["invalid input, nothing was changed: vp@contoso.com: 'not-a-guid'",
                 "ann@contoso.com: state=present takes one of immutable_id and consistency_guid",
                 "old@contoso.com: state=absent clears the value; remove immutable_id",
                 "none@contoso.com: state=present needs one of", "(no user): user is required",
                 "BOB@contoso.com: listed twice",
                 "eve@contoso.com: immutable id %s is also requested for bob@contoso.com" % OTHER]:
        assert text in message


def test_describe_shows_the_guid_only_when_there_is_one():
    assert describe(None) == {"immutable_id": None, "guid": None}
    assert describe(VALUE) == {"immutable_id": VALUE, "guid": VALUE_GUID}
    assert describe("EMP-000123") == {"immutable_id": "EMP-000123", "guid": None}


def test_fact_warnings_name_what_could_not_be_checked():
    unknown = UserFacts({"id": "u1", "userPrincipalName": "vp@contoso.com"})
    stamp, clear = plan_immutable_id(unknown, VALUE), plan_immutable_id(user(onPremisesImmutableId=VALUE), None)
    features_warning, identifier_warning = fact_warnings([stamp, clear], None)
    assert "OnPremDirectorySynchronization.Read.All" in features_warning
    assert "not checked for vp@contoso.com" in identifier_warning
    assert fact_warnings([clear], None) == [], "a clear needs neither check"
    assert fact_warnings([plan_immutable_id(user(), VALUE)], {}) == []


def test_a_privileged_refusal_names_the_role_with_its_definition_id():
    facts = UserFacts({"id": "u1", "userPrincipalName": "vp@contoso.com"},
                      role_ids=[GLOBAL_ADMINISTRATOR, EXCHANGE_ADMINISTRATOR],
                      role_names={GLOBAL_ADMINISTRATOR.upper(): "Global Administrator",
                                  EXCHANGE_ADMINISTRATOR: "Exchange Administrator"})
    plan = plan_immutable_id(facts, VALUE)
    assert "labelled PRIVILEGED: Global Administrator (%s);" % GLOBAL_ADMINISTRATOR in plan.refusal
    assert "Exchange Administrator" not in plan.refusal

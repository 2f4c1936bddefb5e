import pytest

from ansible_collections.syncfix.entra.plugins.module_utils.hard_match import UserFacts, plan_immutable_id

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
    assert plan_immutable_id(user(onPremisesImmutableId=VALUE), None).changed
    assert "synced" in plan_immutable_id(user(onPremisesImmutableId=VALUE, onPremisesSyncEnabled=True), None).refusal
    assert not plan_immutable_id(user(), None).changed


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
    assert plan_immutable_id(user(onPremisesImmutableId=VALUE), None, features=blocked).changed, "clearing links nothing"
    assert plan_immutable_id(user(), VALUE, features={"blockCloudObjectTakeoverThroughHardMatchEnabled": False}).changed
    assert plan_immutable_id(user(), VALUE, features=None).changed, "unknown features are the caller's warning"


def test_an_object_identifier_graph_did_not_return_is_unknown_not_absent():
    assert user().object_identifier_known
    facts = UserFacts({"id": "u1", "userPrincipalName": "vp@contoso.com"})
    assert not facts.object_identifier_known and facts.object_identifier is None

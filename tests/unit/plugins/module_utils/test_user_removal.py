import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._rules.user_removal import (
    ACTIVE, GONE, IN_RECYCLE_BIN, data_loss_reasons, has_mailbox, names_user, parse_removal_items, plan_removal,
    record_summary, role_label, role_reasons,
)
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError

CLOUD_ONLY = {"id": "u1", "userPrincipalName": "vp@contoso.com"}


def test_mailbox_is_read_from_mail_or_smtp_addresses():
    assert has_mailbox({"mail": "vp@contoso.com"})
    assert has_mailbox({"proxyAddresses": ["X500:/o=x", "smtp:vp@contoso.com"]})
    assert not has_mailbox({"proxyAddresses": ["X500:/o=x"]})


def test_data_loss_reasons_name_what_would_be_lost():
    reasons = data_loss_reasons({"mail": "vp@contoso.com", "onPremisesSyncEnabled": True,
                                 "onPremisesImmutableId": "BpazOkLGm0iEtljAONPvOQ=="},
                                ["ENTERPRISEPACK"])
    text = "; ".join(reasons)
    for word in ("synced", "BpazOkLGm0iEtljAONPvOQ==", "ENTERPRISEPACK", "mailbox (mail vp@contoso.com)"):
        assert word in text
    assert data_loss_reasons(CLOUD_ONLY) == []
    assert role_reasons({"active": ["r1"], "eligible": ["r2"]}) == ["it holds or is eligible for directory roles r1, r2"]
    assert role_reasons({"active": [], "eligible": []}) == role_reasons(None) == []


def test_a_role_holder_needs_its_own_opt_in_which_allow_data_loss_does_not_give():
    roles = role_reasons({"active": ["Global Administrator"], "eligible": []})
    plan = plan_removal("purged", ACTIVE, "admin@contoso.com", CLOUD_ONLY, [], True, roles)
    assert not plan.changed and "allow_role_holder_removal: true" in plan.refusal
    assert "Global Administrator" in plan.refusal
    assert plan_removal("purged", ACTIVE, "admin@contoso.com", CLOUD_ONLY, [], False, roles, True).changed


@pytest.mark.parametrize("state,where,steps,note", [
    ("deleted", ACTIVE, ["soft_delete"], None),
    ("deleted", IN_RECYCLE_BIN, [], "already in the recycle bin"),
    ("deleted", GONE, [], "nothing to delete"),
    ("purged", ACTIVE, ["soft_delete", "purge"], None),
    ("purged", IN_RECYCLE_BIN, ["purge"], None),
    ("purged", GONE, [], "nothing to purge"),
    ("restored", IN_RECYCLE_BIN, ["restore"], None),
    ("restored", ACTIVE, [], "already active"),
])
def test_steps_per_state_and_location(state, where, steps, note):
    plan = plan_removal(state, where, "vp@contoso.com", CLOUD_ONLY)
    assert plan.steps == steps and plan.refusal is None
    assert (note is None and plan.note is None) or note in plan.note
    assert plan.changed == bool(steps)


def test_restoring_what_is_gone_is_refused():
    assert "cannot be restored" in plan_removal("restored", GONE, "vp@contoso.com").refusal


def test_active_synced_user_is_refused_even_with_opt_in():
    plan = plan_removal("purged", ACTIVE, "vp@contoso.com", {"onPremisesSyncEnabled": True}, ["synced"], True)
    assert not plan.changed and "delete the AD object" in plan.refusal


def test_data_loss_needs_opt_in_and_says_so():
    plan = plan_removal("purged", IN_RECYCLE_BIN, "vp@contoso.com", CLOUD_ONLY, ["it has a mailbox"])
    assert not plan.changed and "refusing to purge vp@contoso.com: it has a mailbox" in plan.refusal
    assert "allow_data_loss: true" in plan.refusal
    assert plan_removal("purged", IN_RECYCLE_BIN, "vp@contoso.com", CLOUD_ONLY, ["it has a mailbox"], True).changed


def test_each_item_takes_its_own_state_or_the_tasks():
    items = [dict(user="a@contoso.com"), dict(user="b@contoso.com", state="restored", new_user_principal_name="b2@contoso.com")]
    assert parse_removal_items(items, "purged") == [("a@contoso.com", "purged", None),
                                                    ("b@contoso.com", "restored", "b2@contoso.com")]


def test_bad_items_are_all_named_before_anything_is_read():
    with pytest.raises(InputError) as refused:
        parse_removal_items([dict(user="a@contoso.com", state="deleted"), dict(user=" "), dict(user="A@contoso.com"),
                             dict(user="c@contoso.com", state="purged", new_user_principal_name="x@contoso.com")])
    message = str(refused.value)
    assert message.startswith("invalid input, nothing was changed: ")
    assert "users[1]: empty selector" in message and "A@contoso.com: listed twice" in message
    assert "A@contoso.com: no state; give state (deleted, purged, restored) on the item or for the task" in message
    assert "c@contoso.com: new_user_principal_name applies only to state: restored" in message


@pytest.mark.parametrize("state,where,after,action", [
    ("purged", ACTIVE, GONE, "soft-delete and purge"),
    ("purged", IN_RECYCLE_BIN, GONE, "purge"),
    ("deleted", ACTIVE, IN_RECYCLE_BIN, "soft-delete"),
    ("restored", IN_RECYCLE_BIN, ACTIVE, "restore"),
    ("deleted", IN_RECYCLE_BIN, IN_RECYCLE_BIN, ""),
])
def test_a_plan_says_where_its_steps_leave_the_user(state, where, after, action):
    plan = plan_removal(state, where, "vp", CLOUD_ONLY)
    assert (plan.after, plan.action) == (after, action)


def test_roles_are_named_with_their_definition_id_when_the_name_is_known():
    roles = {"active": [{"id": "62e90394-69f5-4237-9190-012177145e10", "displayName": "Global Administrator"}],
             "eligible": [{"id": "00000000-0000-4000-8000-0000000000cc", "displayName": None}]}
    assert role_reasons(roles) == ["it holds or is eligible for directory roles 00000000-0000-4000-8000-0000000000cc, "
                                   "Global Administrator (62e90394-69f5-4237-9190-012177145e10)"]
    assert role_label("Exchange Administrator") == "Exchange Administrator"


def test_a_selector_names_a_user_by_id_upn_renamed_upn_mail_or_smtp_address():
    binned = {"id": "0B0B-1", "userPrincipalName": "0b0b0b0b00004000800000000000000Avp@contoso.com".lower(),
              "mail": "vp@contoso.com", "proxyAddresses": ["SMTP:vp@contoso.com", "smtp:vice@contoso.com"]}
    for selector in ("0b0b-1", "VP@contoso.com", "vice@contoso.com"):
        assert names_user(binned, selector), selector
    assert names_user({"userPrincipalName": "0b0b0b0b000040008000000000000001vp@contoso.com"}, "vp@contoso.com")
    assert not names_user({"userPrincipalName": "xvp@contoso.com"}, "vp@contoso.com")
    assert not names_user(binned, "president@contoso.com")


def test_a_record_summary_counts_and_never_copies_the_record():
    record = {"user": {"id": "u1", "userPrincipalName": "vp@contoso.com", "displayName": "VP", "mail": "vp@contoso.com",
                       "onPremisesSyncEnabled": None, "deletedDateTime": "2026-11-01T00:00:00Z", "jobTitle": "VP"},
              "licenses": ["SPE_E3", "EMS"], "memberOf": [{"id": "g1", "type": "group"}, {"id": "g2", "type": "group"},
                                                          {"id": "r1", "type": "directoryRole"}],
              "roles": {"active": [{"id": "r1", "displayName": "Global Administrator"}], "eligible": ["r1", "r2"]}}
    assert record_summary(record) == {"id": "u1", "userPrincipalName": "vp@contoso.com", "displayName": "VP",
                                      "licenses": 2, "groups": 2, "roles": 2, "mailbox": True,
                                      "onPremisesSyncEnabled": False, "deletedDateTime": "2026-11-01T00:00:00Z"}


def test_mail_the_sync_wrote_is_no_mailbox_unless_the_user_is_licensed():
    duplicate = {"id": "d1", "mail": "vp@contoso.com", "proxyAddresses": []}
    assert any("mailbox" in r for r in data_loss_reasons(duplicate))
    assert data_loss_reasons(duplicate, mail_from_sync=True) == []
    licensed = dict(duplicate, assignedLicenses=[{"skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df", "disabledPlans": []}])
    reasons = data_loss_reasons(licensed, mail_from_sync=True)
    assert [r.split(" ")[1] for r in reasons] == ["has", "has"] and "licenses c7df2760" in reasons[0]

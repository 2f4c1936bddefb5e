import pytest
from hypothesis import assume, given, settings, strategies as st

from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import (
    ProxyAddress,
    ProxyAddressError,
    ProxyAddressSet,
    plan_proxy_addresses,
    sorted_values,
)

ANN = ["SMTP:ann@contoso.com", "smtp:ann.lee@contoso.com", "X500:/o=Contoso/cn=ann"]


# -- the value type -------------------------------------------------------------------

def test_value_parts_and_primary_flag():
    primary = ProxyAddress.parse("SMTP:Ann@Contoso.com")
    assert (primary.prefix, primary.address, primary.type) == ("SMTP", "Ann@Contoso.com", "SMTP")
    assert primary.is_smtp and primary.is_primary
    secondary = ProxyAddress.parse("smtp:ann@contoso.com")
    assert secondary.is_smtp and not secondary.is_primary
    assert not ProxyAddress.parse("X500:/o=x").is_primary
    assert ProxyAddress.parse("sip:ann@contoso.com").type == "SIP"


def test_identity_ignores_case_but_equality_does_not():
    a, b = ProxyAddress.parse("SMTP:Ann@Contoso.com"), ProxyAddress.parse("smtp:ann@contoso.com")
    assert a.key == b.key
    assert a != b
    assert ProxyAddress.parse("SIP:ann@contoso.com").key != b.key


def test_address_part_may_hold_colons():
    assert ProxyAddress.parse("EUM:1234;phone-context=x:y").address == "1234;phone-context=x:y"


@pytest.mark.parametrize("value", ["ann@contoso.com", ":ann@contoso.com", "SM TP:ann@contoso.com", 7, None])
def test_malformed_values_name_themselves(value):
    with pytest.raises(ProxyAddressError) as e:
        ProxyAddress.parse(value)
    assert repr(value) in str(e.value) and "PREFIX:address" in str(e.value) or "address type" in str(e.value)


def test_only_smtp_can_be_made_primary():
    assert ProxyAddress.smtp("ann@contoso.com", primary=True).value == "SMTP:ann@contoso.com"
    assert ProxyAddress.smtp("smtp:ann@contoso.com", primary=True).value == "SMTP:ann@contoso.com"
    with pytest.raises(ProxyAddressError, match="not an SMTP address"):
        ProxyAddress.smtp("SIP:ann@contoso.com", primary=True)


def test_set_findings_flag_invalid_and_duplicate_values():
    found = ProxyAddressSet(["SMTP:ann@contoso.com", "smtp:ANN@contoso.com", "smtp:bad@contoso.local"]).findings()
    assert [f.flag for f in found["SMTP:ann@contoso.com"]] == ["duplicate"]
    assert [f.flag for f in found["smtp:ANN@contoso.com"]] == ["duplicate"]
    assert [f.flag for f in found["smtp:bad@contoso.local"]] == ["topleveldomain"]


# -- planning ---------------------------------------------------------------------------

def test_present_adds_only_what_is_missing():
    plan = plan_proxy_addresses(ANN, ["smtp:a.lee@contoso.com", "smtp:ann.lee@contoso.com"])
    assert plan.change.to_dict() == {"delete": [], "add": ["smtp:a.lee@contoso.com"]}
    assert plan.after.values == ANN + ["smtp:a.lee@contoso.com"]


def test_present_of_everything_held_is_no_change():
    plan = plan_proxy_addresses(ANN, ["SMTP:ann@contoso.com", "X500:/o=Contoso/cn=ann"])
    assert not plan.changed and plan.change.operations() == []


def test_promoting_a_secondary_is_one_atomic_swap():
    plan = plan_proxy_addresses(ANN, ["SMTP:ann.lee@contoso.com"])
    assert plan.change.operations() == [
        ("delete", ["smtp:ann.lee@contoso.com", "SMTP:ann@contoso.com"]),
        ("add", ["SMTP:ann.lee@contoso.com", "smtp:ann@contoso.com"]),
    ]
    assert plan.primary_address == "ann.lee@contoso.com"
    assert plan.after.primary.value == "SMTP:ann.lee@contoso.com"


def test_primary_option_adds_a_new_primary_and_demotes_the_old():
    plan = plan_proxy_addresses(ANN, primary="vp@contoso.com")
    assert plan.change.to_dict() == {
        "delete": ["SMTP:ann@contoso.com"],
        "add": ["smtp:ann@contoso.com", "SMTP:vp@contoso.com"],
    }


def test_primary_option_when_already_primary_as_spelled_is_no_change():
    assert not plan_proxy_addresses(ANN, primary="ann@contoso.com").changed
    assert not plan_proxy_addresses(ANN, primary="SMTP:ann@contoso.com").changed


def test_primary_option_takes_the_spelling_asked_for_and_is_then_no_change():
    held = ["smtp:VP@contoso.com", "SMTP:vp@fabrikam.com"]
    plan = plan_proxy_addresses(held, primary="vp@contoso.com")
    assert plan.change.to_dict() == {"delete": ["smtp:VP@contoso.com", "SMTP:vp@fabrikam.com"],
                                     "add": ["SMTP:vp@contoso.com", "smtp:vp@fabrikam.com"]}
    assert plan.primary_address == "vp@contoso.com"
    assert not plan_proxy_addresses(plan.after, primary="vp@contoso.com").changed


def test_a_case_only_difference_of_the_primary_is_a_change_once():
    plan = plan_proxy_addresses(ANN, primary="ANN@contoso.com")
    assert plan.change.to_dict() == {"delete": ["SMTP:ann@contoso.com"], "add": ["SMTP:ANN@contoso.com"]}
    assert plan.primary_address == "ANN@contoso.com"
    assert not plan_proxy_addresses(plan.after, primary="ANN@contoso.com").changed


def test_exact_and_present_keep_the_spelling_given():
    held = ["SMTP:VP@Contoso.com", "smtp:Vp@Fabrikam.com"]
    exact = plan_proxy_addresses(held, ["SMTP:vp@contoso.com", "smtp:vp@fabrikam.com"], state="exact")
    assert exact.after.values == ["SMTP:vp@contoso.com", "smtp:vp@fabrikam.com"]
    assert exact.primary_address == "vp@contoso.com"
    assert not plan_proxy_addresses(exact.after, ["SMTP:vp@contoso.com", "smtp:vp@fabrikam.com"],
                                    state="exact").changed
    present = plan_proxy_addresses(held, ["smtp:vp@fabrikam.com"], primary="vp@contoso.com")
    assert present.after.values == ["SMTP:vp@contoso.com", "smtp:vp@fabrikam.com"]


def test_case_of_the_address_is_a_real_change_when_written_exactly():
    plan = plan_proxy_addresses(ANN, ["smtp:Ann.Lee@Contoso.com"])
    assert plan.change.to_dict() == {"delete": ["smtp:ann.lee@contoso.com"], "add": ["smtp:Ann.Lee@Contoso.com"]}


def test_absent_removes_whatever_the_case():
    plan = plan_proxy_addresses(ANN, ["smtp:ANN.LEE@contoso.com", "x500:/O=CONTOSO/CN=ANN"], state="absent")
    assert plan.change.to_dict() == {"delete": ["smtp:ann.lee@contoso.com", "X500:/o=Contoso/cn=ann"], "add": []}


def test_absent_of_missing_values_is_no_change():
    assert not plan_proxy_addresses(ANN, ["smtp:nobody@contoso.com"], state="absent").changed


def test_removing_the_primary_needs_opt_in():
    with pytest.raises(ProxyAddressError) as e:
        plan_proxy_addresses(ANN, ["smtp:ann@contoso.com"], state="absent")
    assert "SMTP:ann@contoso.com" in str(e.value) and "allow_primary_removal" in str(e.value)


def test_removing_the_primary_with_opt_in_still_needs_a_new_primary():
    with pytest.raises(ProxyAddressError, match="no primary"):
        plan_proxy_addresses(ANN, ["SMTP:ann@contoso.com"], state="absent", allow_primary_removal=True)
    plan = plan_proxy_addresses(ANN, ["SMTP:ann@contoso.com"], state="absent", allow_primary_removal=True,
                                primary="ann.lee@contoso.com")
    assert plan.after.values == ["SMTP:ann.lee@contoso.com", "X500:/o=Contoso/cn=ann"]


def test_removing_every_smtp_address_leaves_a_valid_non_mail_object():
    plan = plan_proxy_addresses(ANN, ["smtp:ann@contoso.com", "smtp:ann.lee@contoso.com"], state="absent",
                                allow_primary_removal=True)
    assert plan.after.values == ["X500:/o=Contoso/cn=ann"] and plan.primary_address is None


def test_demoting_the_only_primary_is_refused():
    with pytest.raises(ProxyAddressError, match="no primary"):
        plan_proxy_addresses(ANN, ["smtp:ann@contoso.com"])


def test_exact_keeps_held_values_and_removes_the_rest():
    plan = plan_proxy_addresses(ANN, ["smtp:ann.lee@contoso.com", "SMTP:ann@contoso.com"], state="exact")
    assert plan.change.to_dict() == {"delete": ["X500:/o=Contoso/cn=ann"], "add": []}
    assert plan.after.values == ["SMTP:ann@contoso.com", "smtp:ann.lee@contoso.com"]


def test_exact_dropping_the_primary_needs_opt_in():
    with pytest.raises(ProxyAddressError, match="allow_primary_removal"):
        plan_proxy_addresses(ANN, ["SMTP:new@contoso.com"], state="exact")
    plan = plan_proxy_addresses(ANN, ["SMTP:new@contoso.com"], state="exact", allow_primary_removal=True)
    assert plan.after.values == ["SMTP:new@contoso.com"]


def test_exact_keeping_the_primary_as_secondary_is_not_a_removal():
    plan = plan_proxy_addresses(ANN, ["smtp:ann@contoso.com", "SMTP:new@contoso.com"], state="exact")
    assert plan.primary_address == "new@contoso.com"


def test_two_requested_primaries_are_refused_naming_both():
    with pytest.raises(ProxyAddressError) as e:
        plan_proxy_addresses(ANN, ["SMTP:a@contoso.com", "SMTP:b@contoso.com"], state="exact")
    assert "two primaries" in str(e.value) and "SMTP:a@contoso.com" in str(e.value) and "SMTP:b@contoso.com" in str(e.value)


def test_same_address_twice_in_a_request_is_refused():
    with pytest.raises(ProxyAddressError, match="listed twice"):
        plan_proxy_addresses(ANN, ["smtp:x@contoso.com", "SMTP:X@contoso.com"])


def test_invalid_address_is_refused_before_planning_with_idfix_flag():
    with pytest.raises(ProxyAddressError) as e:
        plan_proxy_addresses(ANN, ["smtp:bad address@contoso.local"])
    message = str(e.value)
    assert "smtp:bad address@contoso.local" in message
    assert "[character]" in message and "[topleveldomain]" in message


def test_removing_an_invalid_address_is_allowed_adding_it_is_not():
    held = ANN + ["smtp:bad address@contoso.com", "smtp:<odd>@contoso.com"]
    plan = plan_proxy_addresses(held, ["smtp:BAD ADDRESS@contoso.com", "smtp:<odd>@contoso.com"], state="absent")
    assert plan.change.to_dict() == {"delete": ["smtp:<odd>@contoso.com", "smtp:bad address@contoso.com"], "add": []}
    assert plan_proxy_addresses(held, ["smtp:ann.lee@contoso.com", "SMTP:ann@contoso.com"], state="exact").after.values == [
        "SMTP:ann@contoso.com", "smtp:ann.lee@contoso.com"]
    with pytest.raises(ProxyAddressError, match=r"smtp:new address@contoso.com .*\[character\].*state: absent"):
        plan_proxy_addresses(ANN, ["smtp:new address@contoso.com"], state="exact")


@pytest.mark.parametrize("value", ["smtp:ann@contoso.onmicrosoft.com", "SMTP:Ann@Contoso.OnMicrosoft.COM",
                                   "smtp:ann@contoso.mail.onmicrosoft.com"])
def test_adding_an_onmicrosoft_address_is_refused_with_the_reason(value):
    with pytest.raises(ProxyAddressError) as e:
        plan_proxy_addresses(ANN, [value], allow_primary_removal=True)
    assert value in str(e.value) and "Entra manages those" in str(e.value)
    assert "How the proxyAddresses attribute is populated" in str(e.value)
    with pytest.raises(ProxyAddressError, match="onmicrosoft.com domain"):
        plan_proxy_addresses(ANN, primary=value.split(":", 1)[1])
    with pytest.raises(ProxyAddressError, match="onmicrosoft.com domain"):
        plan_proxy_addresses(ANN, ["SMTP:ann@contoso.com", value], state="exact")


def test_removing_or_keeping_a_held_onmicrosoft_address_is_allowed():
    held = ANN + ["smtp:ann@contoso.onmicrosoft.com"]
    plan = plan_proxy_addresses(held, ["SMTP:ann@CONTOSO.onmicrosoft.com"], state="absent")
    assert plan.change.to_dict() == {"delete": ["smtp:ann@contoso.onmicrosoft.com"], "add": []}
    assert not plan_proxy_addresses(held, ["smtp:ann@contoso.onmicrosoft.com"] + ANN, state="exact").changed


def test_look_alike_domains_are_not_onmicrosoft():
    plan = plan_proxy_addresses(ANN, ["smtp:ann@notonmicrosoft.com", "smtp:ann@onmicrosoft.com.contoso.com"])
    assert plan.change.add == ["smtp:ann@notonmicrosoft.com", "smtp:ann@onmicrosoft.com.contoso.com"]


def test_invalid_primary_option_is_refused():
    with pytest.raises(ProxyAddressError, match=r"\[format\]"):
        plan_proxy_addresses(ANN, primary="not-an-address")


def test_primary_cannot_be_removed_and_promoted_at_once():
    with pytest.raises(ProxyAddressError, match="both removed and made primary"):
        plan_proxy_addresses(ANN, ["smtp:ann.lee@contoso.com"], state="absent", primary="ann.lee@contoso.com")


def test_existing_two_primaries_block_changes_until_one_is_chosen():
    broken = ["SMTP:a@contoso.com", "SMTP:b@contoso.com"]
    with pytest.raises(ProxyAddressError, match="2 primary SMTP addresses"):
        plan_proxy_addresses(broken, ["smtp:c@contoso.com"])
    assert not plan_proxy_addresses(broken, ["SMTP:a@contoso.com"], state="present").after.primary_problem()
    plan = plan_proxy_addresses(broken, primary="b@contoso.com")
    assert plan.change.to_dict() == {"delete": ["SMTP:a@contoso.com"], "add": ["smtp:a@contoso.com"]}


def test_unchanged_broken_object_is_left_alone():
    broken = ["SMTP:a@contoso.com", "SMTP:b@contoso.com"]
    assert not plan_proxy_addresses(broken, ["SMTP:a@contoso.com", "SMTP:b@contoso.com"], state="absent",
                                    allow_primary_removal=True).after.primary_problem()
    assert not plan_proxy_addresses(broken, ["smtp:zz@contoso.com"], state="absent").changed


def test_unknown_state_refused():
    with pytest.raises(ProxyAddressError, match="state 'gone'"):
        plan_proxy_addresses(ANN, [], state="gone")


def test_diff_order_is_stable():
    assert sorted_values(["smtp:b@x.com", "SMTP:A@x.com", "smtp:a@x.com"]) == ["SMTP:A@x.com", "smtp:a@x.com", "smtp:b@x.com"]


# -- properties ---------------------------------------------------------------------------

LOCALS = st.sampled_from(["ann", "bob", "cy", "Ann", "BOB"])
DOMAINS = st.sampled_from(["contoso.com", "Contoso.com", "fabrikam.net"])
SMTP_ADDRESSES = st.builds(lambda l, d: "%s@%s" % (l, d), LOCALS, DOMAINS)


@st.composite
def valid_sets(draw):
    """A mail-enabled object's proxyAddresses that keep the one-primary rule."""
    addresses = draw(st.lists(SMTP_ADDRESSES, min_size=1, max_size=5, unique_by=str.lower))
    primary_index = draw(st.integers(0, len(addresses) - 1))
    values = ["%s:%s" % ("SMTP" if i == primary_index else "smtp", a) for i, a in enumerate(addresses)]
    if draw(st.booleans()):
        values.append("X500:/o=Contoso/cn=%s" % draw(LOCALS))
    return values


REQUESTS = st.lists(st.builds(lambda p, a: "%s:%s" % (p, a), st.sampled_from(["SMTP", "smtp"]), SMTP_ADDRESSES),
                    max_size=4)


def apply_change(values, change):
    """What AD does with the modify: delete the exact values, then add the exact values."""
    remaining = [v for v in values if v not in change.delete]
    assert set(change.delete) <= set(values), "deleting a value AD does not hold fails (noSuchAttribute)"
    assert not set(change.add) & set(remaining), "adding a value AD holds fails (attributeOrValueExists)"
    return remaining + change.add


@settings(max_examples=300)
@given(valid_sets(), REQUESTS, st.sampled_from(["present", "absent", "exact"]),
       st.one_of(st.none(), SMTP_ADDRESSES), st.booleans())
def test_planner_keeps_the_rules_and_is_idempotent(current, request, state, primary, allow_removal):
    try:
        plan = plan_proxy_addresses(current, request, state=state, primary=primary,
                                    allow_primary_removal=allow_removal)
    except ProxyAddressError:
        assume(False)
        return
    # Never zero or two primaries on a mail-enabled result.
    assert plan.after.primary_problem() is None
    # The change, applied as AD applies it, yields exactly the planned values.
    assert sorted(apply_change(current, plan.change)) == sorted(plan.after.values)
    # No two values name the same address.
    keys = [ProxyAddress.parse(v).key for v in plan.after.values]
    assert len(keys) == len(set(keys))
    # Running the same request again changes nothing.
    again = plan_proxy_addresses(plan.after.values, request, state=state, primary=primary,
                                 allow_primary_removal=allow_removal)
    assert not again.changed, again.change.to_dict()


@settings(max_examples=200)
@given(valid_sets(), REQUESTS)
def test_dropping_the_primary_never_passes_silently(current, request):
    old_primary = ProxyAddressSet(current).primary
    try:
        plan = plan_proxy_addresses(current, request, state="exact")
    except ProxyAddressError:
        return
    assert plan.after.find(old_primary) is not None

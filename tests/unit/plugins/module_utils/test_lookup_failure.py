"""lookup_failure_action: one argument spec, one pure decision, reused by every module that
looks objects up by selector."""

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._rules.lookup_failure import decide, lookup_failure_spec

UNKNOWN = [("typo@contoso.com", "matches no user"), ("shared@contoso.com", "matches several users (a, b)")]


def test_the_option_defaults_to_fail_with_three_choices():
    assert lookup_failure_spec() == {"lookup_failure_action": {"type": "str", "choices": ["fail", "warn", "ignore"],
                                                               "default": "fail"}}
    assert lookup_failure_spec() is not lookup_failure_spec(), "each module gets its own dict"


def test_fail_names_every_selector_why_and_the_way_out():
    decision = decide("fail", UNKNOWN, fix="check the selector")
    assert decision.failed and decision.warnings == []
    assert decision.failures["typo@contoso.com"] == (
        "typo@contoso.com: matches no user; check the selector, or set lookup_failure_action: warn (or ignore) if a "
        "missing object is expected")
    assert decision.summary().index("typo@contoso.com") < decision.summary().index("shared@contoso.com: matches several")


def test_warn_goes_on_with_a_warning_per_selector_and_ignore_silently():
    warned = decide("warn", UNKNOWN)
    assert not warned.failed and warned.failures == {}
    assert warned.warnings == ["typo@contoso.com: matches no user; going on without it (lookup_failure_action: warn)",
                               "shared@contoso.com: matches several users (a, b); going on without it "
                               "(lookup_failure_action: warn)"]
    ignored = decide("ignore", UNKNOWN)
    assert (ignored.failed, ignored.warnings, ignored.reasons) == (False, [], dict(UNKNOWN))


def test_nothing_unknown_is_nothing_to_decide():
    assert not decide("fail", []).failed and decide("fail", []).summary() == ""


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError, match="one of fail, warn, ignore"):
        decide("skip", UNKNOWN)

"""ArgumentSpec.merge: two directories' connection options in one module."""

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._module.argspec import ArgumentSpec
from ansible_collections.syncfix.entra.plugins.module_utils._module.base import ad_connection_spec, graph_connection_spec


def test_each_directory_alone_keeps_the_old_names_as_aliases():
    assert graph_connection_spec().argument_spec["graph_ca_path"]["aliases"] == ["ca_path"]
    assert ad_connection_spec().argument_spec["ldap_ca_path"]["aliases"] == ["ca_path", "ca_cert"]


def test_merged_the_aliases_both_claim_are_dropped_and_the_distinct_names_stay():
    merged = graph_connection_spec().merge(ad_connection_spec())
    spec = merged.argument_spec
    assert {"graph_ca_path", "ldap_ca_path", "graph_validate_certs", "ldap_validate_certs"} <= set(spec)
    aliases = [a for option in spec.values() for a in option.get("aliases") or []]
    assert "ca_path" not in aliases and "validate_certs" not in aliases
    assert "ca_cert" in aliases, "microsoft.ad's name means the LDAP CA only, so it stays"
    assert merged.rules["required_if"] == [["ldap_auth", "simple", ["bind_dn", "bind_password"]]]


def test_merge_leaves_the_other_spec_as_it_was():
    ad = ad_connection_spec()
    graph_connection_spec().merge(ad)
    assert ad.argument_spec["ldap_ca_path"]["aliases"] == ["ca_path", "ca_cert"]


def test_an_alias_claimed_by_only_one_side_survives():
    left = ArgumentSpec(dict(a=dict(type="str", aliases=["x"])))
    left.merge(ArgumentSpec(dict(b=dict(type="str", aliases=["y"]))))
    assert left.argument_spec["a"]["aliases"] == ["x"] and left.argument_spec["b"]["aliases"] == ["y"]


def test_an_alias_that_is_the_other_sides_option_name_is_dropped():
    left = ArgumentSpec(dict(a=dict(type="str", aliases=["b"])))
    left.merge(ArgumentSpec(dict(b=dict(type="str"))))
    assert left.argument_spec["a"]["aliases"] == []


def test_one_option_defined_twice_differently_is_an_error():
    with pytest.raises(ValueError, match="option a is defined twice"):
        ArgumentSpec(dict(a=dict(type="str"))).merge(ArgumentSpec(dict(a=dict(type="int"))))


def test_unknown_rules_are_refused():
    with pytest.raises(ValueError, match="unknown argument spec rules: required_oneof"):
        ArgumentSpec({}, required_oneof=[])

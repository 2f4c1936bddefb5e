import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._rules import dn as _dn
from ansible_collections.syncfix.entra.plugins.module_utils._sync import prediction as sync
from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import ItemPlan, refuse_same_target
from ansible_collections.syncfix.entra.plugins.module_utils._rules.dn import DnError, dn_key, is_under, same_dn
from ansible_collections.syncfix.entra.plugins.module_utils._backends.link_plan import _under
from ansible_collections.syncfix.entra.plugins.module_utils._ldap.objects import identity_filter, identity_matches
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import SourceAnchor
from ansible_collections.syncfix.entra.plugins.module_utils._rules.reverse_hard_match import held_anchor_refusal

DOE = r"CN=Doe\, John,OU=Sales,DC=contoso,DC=com"


# -- one object, many spellings -------------------------------------------------------

@pytest.mark.parametrize("other", [
    r"CN=Doe\2C John,OU=Sales,DC=contoso,DC=com",      # hex escape, upper case
    r"CN=Doe\2c John,OU=Sales,DC=contoso,DC=com",      # hex escape, lower case
    r"cn=doe\, john,ou=sales,dc=CONTOSO,dc=com",       # case of types and values
    r"CN = Doe\, John , OU=Sales,  DC=contoso,DC=com",  # spaces around = and ,
    r"CN=\44oe\, John,OU=Sales,DC=contoso,DC=com",     # any character may be hex-escaped
    r"  CN=Doe\, John,OU=Sales,DC=contoso,DC=com ",    # surrounding whitespace
])
def test_one_object_written_many_ways_is_one_dn(other):
    assert same_dn(DOE, other)
    assert dn_key(DOE) == dn_key(other) == r"cn=doe\, john,ou=sales,dc=contoso,dc=com"


def test_utf8_hex_escapes_and_case_folding_reach_the_same_key():
    assert same_dn(r"CN=J\C3\B6rg,DC=contoso,DC=com", "CN=JÖRG,DC=contoso,DC=com")


def test_multi_valued_rdns_compare_in_any_order():
    assert same_dn("CN=Ann+SN=Lee,DC=contoso,DC=com", "sn=lee+cn=ann,DC=contoso,DC=com")


def test_escaped_spaces_count_and_unescaped_ones_around_values_do_not():
    assert same_dn(r"CN=Ann\ ,DC=c", r"CN=Ann\20,DC=c")
    assert not same_dn(r"CN=Ann\ ,DC=c", "CN=Ann,DC=c")
    assert same_dn("CN=Ann ,DC=c", "CN=Ann,DC=c")


@pytest.mark.parametrize("other", [
    r"CN=Doe\, Jane,OU=Sales,DC=contoso,DC=com",       # another leaf
    r"CN=Doe\, John,OU=Sales2,DC=contoso,DC=com",      # another OU
    r"CN=Doe John,OU=Sales,DC=contoso,DC=com",         # the comma is part of the name
    r"CN=Doe,CN=John,OU=Sales,DC=contoso,DC=com",      # an unescaped comma is another RDN
    r"OU=Doe\, John,OU=Sales,DC=contoso,DC=com",       # another attribute type
])
def test_different_objects_stay_different(other):
    assert not same_dn(DOE, other)
    assert dn_key(DOE) != dn_key(other)


def test_is_under_compares_rdns_not_string_tails():
    assert is_under(DOE, "ou=SALES, dc=Contoso,DC=COM")
    assert is_under(r"CN=Ann,OU=Doe\2C Sales,DC=c", r"OU=Doe\, Sales,DC=c")
    assert is_under(DOE, "DC=contoso,DC=com")
    assert not is_under("OU=Sales,DC=contoso,DC=com", "OU=Sales,DC=contoso,DC=com")  # not under itself
    assert not is_under("CN=Ann,OU=BigSales,DC=contoso,DC=com", "OU=Sales,DC=contoso,DC=com")
    assert not is_under("DC=contoso,DC=com", DOE)


@pytest.mark.parametrize("bad", ["nodn", "CN=A,,DC=c", "", "   ", r"CN=A\,DC=c\\", r"CN=\FF,DC=c", None])
def test_a_malformed_dn_is_named_in_the_error(bad):
    with pytest.raises(DnError) as caught:
        dn_key(bad)
    assert repr(bad) in str(caught.value) and "distinguished name" in str(caught.value)


def test_without_ldap3_the_error_names_the_package(monkeypatch):
    monkeypatch.setattr(_dn, "parse_dn", None)
    with pytest.raises(DnError, match=r"ldap3.*pip install"):
        dn_key(DOE)


# -- the places that compare DNs ------------------------------------------------------

def test_scope_ous_match_a_dn_written_with_other_escaping():
    assert _under(r"CN=Ann,OU=Doe\2C Sales,DC=contoso,DC=com", [r"OU=Doe\, Sales,DC=contoso,DC=com"])
    assert _under(DOE, ["ou=sales, dc=contoso, dc=com"])
    assert not _under("CN=Ann,OU=BigSales,DC=contoso,DC=com", ["OU=Sales,DC=contoso,DC=com"])


def test_an_identity_given_as_a_dn_matches_the_dn_ad_returns():
    entry = {"dn": DOE, "attributes": {}, "raw": {}}
    assert identity_matches(r"cn=doe\2c john,ou=sales,dc=contoso,dc=com", entry)
    assert identity_matches(r"CN=Doe\, John, OU=Sales, DC=contoso, DC=com", entry)
    assert not identity_matches(r"CN=Doe\, Jane,OU=Sales,DC=contoso,DC=com", entry)


def test_a_malformed_dn_identity_is_refused_before_any_search():
    with pytest.raises(DnError, match="CN=A,,DC=c"):
        identity_filter("CN=A,,DC=c")


def test_two_items_naming_one_object_by_differently_escaped_dns_are_both_refused():
    plans = refuse_same_target([ItemPlan("a", fields=dict(dn=DOE)),
                                ItemPlan("b", fields=dict(dn=r"cn=doe\2c john,ou=sales,dc=contoso,dc=com"))])
    assert all(plan.refusal and "name the same object" in plan.refusal for plan in plans)


def test_the_object_itself_written_differently_is_not_another_holder_of_its_anchor():
    anchor = SourceAnchor.from_guid("2f0e9f0e-6a5b-4c3d-8e7f-0a1b2c3d4e5f")
    assert held_anchor_refusal(DOE, anchor, [r"CN=Doe\2C John,OU=Sales,DC=contoso,DC=com"]) is None
    assert "CN=Ann" in held_anchor_refusal(DOE, anchor, ["CN=Ann,OU=Sales,DC=contoso,DC=com"])


def test_the_cloud_copy_of_a_dn_is_found_whatever_its_escaping():
    synced = sync.CloudObject("c1", sync_enabled=True, dn=r"CN=Doe\2C John,OU=Sales,DC=contoso,DC=com")
    world = sync.World([synced, sync.CloudObject("c2", dn="not a dn")])
    assert world.by_dn(r"cn=doe\, john, ou=sales,dc=contoso,dc=com") == [synced]
    assert [o.id for o in world.by_dn("NOT A DN")] == ["c2"]

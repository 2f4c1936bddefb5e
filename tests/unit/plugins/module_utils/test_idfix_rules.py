import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._rules import idfix as rules


def flags(findings):
    return sorted(f.flag for f in findings)


@pytest.mark.parametrize("address", [
    "ann@contoso.com", "ann.lee+test@mail.contoso.co.uk", "o'brien@contoso.com",
    "x@xn--bcher-kva.example.com", "a@b.cloud",
])
def test_valid_smtp_addresses_have_no_findings(address):
    assert rules.smtp_address_findings(address) == []


@pytest.mark.parametrize("address,expected", [
    ("", [rules.BLANK]),
    ("   ", [rules.BLANK]),
    ("ann lee@contoso.com", [rules.CHARACTER, rules.LOCAL_PART]),
    ("ann@contoso.com;bob@contoso.com", [rules.CHARACTER, rules.FORMAT]),
    ("anncontoso.com", [rules.FORMAT]),
    ("@contoso.com", [rules.LOCAL_PART]),
    (".ann@contoso.com", [rules.LOCAL_PART]),
    ("ann..lee@contoso.com", [rules.LOCAL_PART]),
    ("ann@", [rules.DOMAIN_PART]),
    ("ann@contoso", [rules.DOMAIN_PART]),
    ("ann@-contoso.com", [rules.DOMAIN_PART]),
    ("ann@contoso..com", [rules.DOMAIN_PART]),
    ("ann@contoso.local", [rules.TOP_LEVEL_DOMAIN]),
    ("ann@contoso.test", [rules.TOP_LEVEL_DOMAIN]),
    ("ann@contoso.c0m", [rules.TOP_LEVEL_DOMAIN]),
    ("ännë@contoso.com", [rules.LOCAL_PART]),
    ("a" * 65 + "@contoso.com", [rules.LOCAL_PART]),
    ("a" * 60 + "@" + ("b" * 60 + ".") * 4 + "com", [rules.LENGTH]),
])
def test_smtp_address_rules(address, expected):
    assert flags(rules.smtp_address_findings(address)) == sorted(expected)


def test_findings_explain_themselves():
    (finding,) = rules.smtp_address_findings("ann@contoso.local")
    assert "'local'" in finding.message and "not routable" in finding.message


def address_of_length(length):
    """A valid SMTP address of exactly ``length`` characters (labels of 49, then the rest)."""
    head, tail = "a" * 60 + "@", ".com"
    middle = length - len(head) - len(tail)
    labels = []
    while middle > 50:
        labels.append("b" * 49)
        middle -= 50
    labels.append("c" * middle)
    address = head + ".".join(labels) + tail
    assert len(address) == length
    return address


def test_proxy_value_length_counts_the_prefix():
    assert rules.proxy_address_findings("smtp", address_of_length(251)) == []  # value of 256
    assert flags(rules.proxy_address_findings("smtp", address_of_length(252))) == [rules.LENGTH]
    assert rules.smtp_address_findings(address_of_length(256)) == []  # mail may be 256
    assert flags(rules.smtp_address_findings(address_of_length(257))) == [rules.LENGTH]


def test_x500_values_are_not_held_to_smtp_character_rules():
    # IdFix 2.2 flagged parentheses in X500 values; its maintainers called that a false error.
    x500 = "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=ann"
    assert rules.proxy_address_findings("X500", x500) == []
    assert flags(rules.proxy_address_findings("X500", "")) == [rules.BLANK]
    assert flags(rules.proxy_address_findings("X500", "/o=" + "x" * 260)) == [rules.LENGTH]


def test_duplicates_are_found_by_key():
    found = rules.duplicate_findings([("SMTP", "a@x.com"), ("SMTP", "b@x.com"), ("SMTP", "a@x.com")])
    assert list(found) == [("SMTP", "a@x.com")]
    assert found[("SMTP", "a@x.com")].flag == rules.DUPLICATE

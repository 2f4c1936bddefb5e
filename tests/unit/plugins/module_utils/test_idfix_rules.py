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


# -- userPrincipalName, mailNickname, displayName and the fixes (moved here from _scan.ad, issue 27) --

def character(findings):
    return next(f for f in findings if f.flag == rules.CHARACTER)


@pytest.mark.parametrize("upn,expected", [
    ("ann@contoso.com", []),
    ("", [rules.BLANK]),
    ("ann lee@contoso.com", [rules.CHARACTER, rules.LOCAL_PART]),
    ("a" * 110 + "@contoso.com", [rules.LENGTH, rules.LOCAL_PART]),
    ("ann@" + "d" * 45 + ".com", [rules.LENGTH]),
    ("ann@contoso.local", [rules.TOP_LEVEL_DOMAIN]),
])
def test_upn_rules(upn, expected):
    assert flags(rules.upn_findings(upn)) == sorted(expected)


def test_upn_fix_removes_what_a_upn_cant_hold_and_only_when_the_result_passes():
    problem = character(rules.upn_findings("ann lee@contoso.com"))
    assert rules.upn_fix("ann lee@contoso.com", problem) == "annlee@contoso.com"
    (problem,) = rules.upn_findings("ann@contoso.local")
    assert rules.upn_fix("ann@contoso.local", problem) is None


@pytest.mark.parametrize("nickname,expected,fixed", [
    ("ann.lee", [], None),
    (" ", [rules.BLANK], None),
    ("ann..lee", [rules.FORMAT], "ann.lee"),
    ("ann lee", [rules.CHARACTER], "annlee"),
])
def test_mail_nickname_rules_and_fixes(nickname, expected, fixed):
    problems = rules.mail_nickname_findings(nickname)
    assert flags(problems) == expected
    if problems:
        assert rules.mail_nickname_fix(nickname, problems[0]) == fixed


def test_display_name_rules_propose_the_trimmed_name():
    assert rules.display_name_findings("Ann Lee") == []
    assert [(f.flag, fix) for f, fix in rules.display_name_findings("  ")] == [(rules.BLANK, None)]
    assert [(f.flag, fix) for f, fix in rules.display_name_findings(" Ann ")] == [(rules.CHARACTER, "Ann")]
    long_name = "x" * 300
    assert [(f.flag, fix) for f, fix in rules.display_name_findings(long_name)] == [(rules.LENGTH, "x" * 255)]


def test_smtp_and_proxy_fixes():
    problem = character(rules.smtp_address_findings(" ann@contoso.com"))
    assert rules.smtp_address_fix(" ann@contoso.com", problem) == "ann@contoso.com"
    problem = character(rules.proxy_address_findings("smtp", "ann (x)@contoso.com"))
    assert rules.proxy_address_fix("smtp", "ann (x)@contoso.com", problem) == "smtp:annx@contoso.com"
    assert rules.proxy_address_fix("X500", "/o=Org", problem) is None, "only SMTP values get a fix"

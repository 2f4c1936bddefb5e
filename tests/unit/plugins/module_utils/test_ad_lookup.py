import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._ldap.objects import (
    LOOKUP_CHUNK, escape_filter_value, find_objects, holders_of, identity_filter, identity_matches,
)
from ansible_collections.syncfix.entra.plugins.module_utils._ldap.client import LdapError, parse_server


@pytest.mark.parametrize("value,mode,port,expected", [
    ("dc1.contoso.com", "ldaps", None, ("dc1.contoso.com", 636, "ldaps")),
    ("dc1.contoso.com", "starttls", None, ("dc1.contoso.com", 389, "starttls")),
    ("dc1.contoso.com:1636", "ldaps", None, ("dc1.contoso.com", 1636, "ldaps")),
    ("ldaps://dc1.contoso.com", "starttls", None, ("dc1.contoso.com", 636, "ldaps")),
    ("ldap://dc1.contoso.com", "ldaps", None, ("dc1.contoso.com", 389, "starttls")),
    ("ldap://dc1.contoso.com:3268/", "none", None, ("dc1.contoso.com", 3268, "none")),
    ("127.0.0.1", "ldaps", 10636, ("127.0.0.1", 10636, "ldaps")),
])
def test_server_forms(value, mode, port, expected):
    assert parse_server(value, mode, port) == expected


@pytest.mark.parametrize("value,words", [("http://dc1", "unknown scheme"), ("dc1:abc", "not a number"), ("ldaps://", "no host")])
def test_bad_servers_name_themselves(value, words):
    with pytest.raises(LdapError) as e:
        parse_server(value, "ldaps", None)
    assert repr(value) in str(e.value) and words in str(e.value)


def test_filter_values_are_escaped():
    assert escape_filter_value("a*b(c)\\d\x00") == "a\\2ab\\28c\\29\\5cd\\00"


@pytest.mark.parametrize("identity,expected", [
    ("CN=Ann Lee,OU=Staff,DC=contoso,DC=test", "(distinguishedName=CN=Ann Lee,OU=Staff,DC=contoso,DC=test)"),
    ("3ab39606-c642-489b-84b6-58c038d3ef39", "(objectGUID=\\06\\96\\b3\\3a\\42\\c6\\9b\\48\\84\\b6\\58\\c0\\38\\d3\\ef\\39)"),
    ("smtp:ann@contoso.com", "(proxyAddresses=smtp:ann@contoso.com)"),
    ("X500:/o=Contoso/cn=ann", "(proxyAddresses=X500:/o=Contoso/cn=ann)"),
    ("ann@contoso.com", "(|(userPrincipalName=ann@contoso.com)(mail=ann@contoso.com)(proxyAddresses=smtp:ann@contoso.com))"),
    ("ann*", "(sAMAccountName=ann\\2a)"),
])
def test_identity_forms(identity, expected):
    assert identity_filter(identity) == expected


def entry(**attributes):
    return {"dn": "CN=Ann,DC=contoso,DC=test", "attributes": attributes, "raw": {}}


def test_or_filter_hits_are_matched_back_to_their_identity_ignoring_case():
    ann = entry(sAMAccountName="ann", userPrincipalName="Ann@Contoso.com", proxyAddresses=["SMTP:ann.lee@contoso.com"])
    assert identity_matches("ANN", ann)
    assert identity_matches("ann@contoso.com", ann)
    assert identity_matches("ann.lee@contoso.com", ann)
    assert identity_matches("smtp:ANN.LEE@contoso.com", ann)
    assert identity_matches("cn=ann,dc=contoso,dc=test", ann)
    assert not identity_matches("bob", ann)


def test_a_missing_ldap_ca_path_is_named_before_any_connection(tmp_path):
    from ansible_collections.syncfix.entra.plugins.module_utils._ldap.client import DirectoryConnection, LdapError
    connection = DirectoryConnection(["127.0.0.1:9"], ca_path=str(tmp_path / "absent-ca.pem"), connect_timeout=1)
    with pytest.raises(LdapError) as raised:
        connection.connect()
    assert "ldap_ca_path %s is not a readable file" % (tmp_path / "absent-ca.pem") in str(raised.value)


def test_a_certificate_for_another_name_is_said_so_not_unreachable():
    from ansible_collections.syncfix.entra.plugins.module_utils._ldap.client import _socket_problem
    text = ("socket ssl wrapping error: certificate {'subject': ((('commonName', 'dc1.contoso.test'),),)} "
            "doesn't match any name in ['vm']")
    said = _socket_problem(Exception(text))
    assert said.startswith("the server's TLS certificate does not name this host") and "['vm']" in said
    assert "cannot reach" in _socket_problem(Exception("[Errno 111] Connection refused"))


class CountingDirectory:
    """Answers each OR search with every entry the filter names, and counts the searches."""

    def __init__(self, entries):
        self.entries = entries
        self.searches = []

    def search(self, search_filter, attributes):
        self.searches.append(search_filter)
        search_filter = search_filter.lower()
        return [e for e in self.entries if "=%s)" % e["attributes"]["sAMAccountName"] in search_filter
                or "=%s)" % e["attributes"]["mail"] in search_filter]


def numbered(count):
    return [{"dn": "CN=u%d,OU=Staff,DC=contoso,DC=test" % i, "raw": {},
             "attributes": {"sAMAccountName": "u%d" % i, "mail": "u%d@contoso.test" % i,
                            "proxyAddresses": ["SMTP:u%d@contoso.test" % i]}} for i in range(count)]


def test_a_thousand_identities_take_ceil_n_over_500_searches_and_each_finds_its_own_entry():
    directory = CountingDirectory(numbered(1200))
    names = ["u%d" % i for i in range(0, 1200, 2)] + ["U%d@CONTOSO.TEST" % i for i in range(1, 1200, 2)]
    lookup = find_objects(directory, names + ["nobody"], classes=("user",))
    assert LOOKUP_CHUNK == 500 and len(directory.searches) == 3  # 1,201 identities
    assert len(lookup.found) == 1200 and lookup.missing == ["nobody"] and not lookup.ambiguous
    assert lookup.found["u600"]["dn"].startswith("CN=u600,") and lookup.found["U601@CONTOSO.TEST"]["dn"].startswith("CN=u601,")


def test_convert_keeps_what_the_caller_needs_of_each_entry_and_ambiguity_still_names_the_dns():
    entries = numbered(3)
    entries[2]["attributes"]["mail"] = "u1"
    converted = []

    def sam(entry):
        converted.append(entry["dn"])
        return entry["attributes"]["sAMAccountName"]

    lookup = find_objects(CountingDirectory(entries), ["u0", "u1"], classes=("user",), convert=sam)
    assert lookup.found == {"u0": "u0"} and len(converted) == 3, "each entry converted once, as it arrives"
    assert lookup.ambiguous["u1"] == ["CN=u1,OU=Staff,DC=contoso,DC=test", "CN=u2,OU=Staff,DC=contoso,DC=test"]


def test_two_entries_answering_one_identity_make_it_ambiguous():
    twins = numbered(2)
    twins[1]["attributes"]["mail"] = "u0"
    lookup = find_objects(CountingDirectory(twins), ["u0"], classes=("user",))
    assert sorted(lookup.ambiguous["u0"]) == ["CN=u0,OU=Staff,DC=contoso,DC=test", "CN=u1,OU=Staff,DC=contoso,DC=test"]


def test_address_holders_are_found_for_every_form_of_the_address():
    directory = CountingDirectory(numbered(3))
    directory.search = lambda search_filter, attributes: numbered(3)
    held = holders_of(directory, ["smtp:U1@contoso.test", "u2@contoso.test", "x@contoso.test"],
                      exclude_dns=["CN=u2,OU=Staff,DC=contoso,DC=test"])
    assert held == {"smtp:U1@contoso.test": ["CN=u1,OU=Staff,DC=contoso,DC=test"], "u2@contoso.test": [],
                    "x@contoso.test": []}

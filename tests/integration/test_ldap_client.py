"""The LDAP adapter itself against the lab DC: paging, failover, base DN discovery."""

import uuid

import pytest

import lab_fixtures

lab_fixtures.import_collection_from_checkout()
from ansible_collections.syncfix.entra.plugins.module_utils._ldap import client as ldap_client  # noqa: E402


def connect(samba, **overrides):
    options = dict(servers=["%s:%d" % (samba["ldap_server"], samba["ldaps_port"])], bind_dn=samba["bind_dn"],
                   bind_password=samba["bind_password"], ca_path=samba["ldap_ca_path"])
    options.update(overrides)
    return ldap_client.DirectoryConnection(**options).connect()


def test_paged_search_returns_every_entry_across_pages(samba, ldap_admin, ou):
    for i in range(11):
        ldap_admin.add("CN=page-%02d,%s" % (i, ou), ["top", "person", "organizationalPerson", "user"],
                       {"sAMAccountName": "pg-%s-%02d" % (uuid.uuid4().hex[:4], i)})
    connection = connect(samba)
    entries = list(connection.search("(objectClass=user)", ["sAMAccountName"], base=ou, page_size=3))
    assert sorted(e["dn"].split(",")[0] for e in entries) == ["CN=page-%02d" % i for i in range(11)]
    assert connection.stats["searches"] == 4  # 3 + 3 + 3 + 2


def test_base_dn_is_discovered_from_the_root_dse(samba):
    assert connect(samba).base_dn == samba["base_dn"]


def test_failover_skips_an_unreachable_server(samba):
    connection = connect(samba, servers=["127.0.0.1:1", "%s:%d" % (samba["ldap_server"], samba["ldaps_port"])])
    assert connection.server_used == "ldaps://%s:%d" % (samba["ldap_server"], samba["ldaps_port"])


def test_no_server_reachable_lists_each_failure(samba):
    with pytest.raises(ldap_client.LdapError) as e:
        connect(samba, servers=["127.0.0.1:1", "127.0.0.1:2"], connect_timeout=2)
    assert "ldaps://127.0.0.1:1: cannot reach" in str(e.value) and "ldaps://127.0.0.1:2: cannot reach" in str(e.value)


def test_plain_ldap_bind_is_refused_by_the_dc_with_a_hint(samba):
    with pytest.raises(ldap_client.LdapError) as e:
        connect(samba, servers=["%s:%d" % (samba["ldap_server"], samba["ldap_port"])], tls_mode="none")
    assert "stronger authentication (8)" in str(e.value) and "ldaps or starttls" in str(e.value)


def test_with_referrals_on_a_continuation_reference_is_not_followed(samba, monkeypatch):
    """Samba answers a subtree search of the domain with a continuation reference to the
    configuration partition (searchResRef ldaps://<realm>/CN=Configuration,...): with referrals on,
    the search still returns the domain's own entries and opens no other connection."""
    opened = []
    real_bind = ldap_client.DirectoryConnection._bind

    def bind(self, host, port, mode):
        opened.append((host, port, mode))
        return real_bind(self, host, port, mode)

    monkeypatch.setattr(ldap_client.DirectoryConnection, "_bind", bind)
    connection = connect(samba, referrals=True)
    entries = list(connection.search("(objectClass=domain)", ["distinguishedName"]))
    assert [e["dn"].lower() for e in entries] == [samba["base_dn"].lower()]
    assert opened == [(samba["ldap_server"], samba["ldaps_port"], "ldaps")]
    assert "referrals_followed" not in connection.stats

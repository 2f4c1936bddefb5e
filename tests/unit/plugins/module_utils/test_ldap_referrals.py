"""LDAP referrals (issue 26, finding 9): followed only with referrals on, only to a configured
or listed host, never from TLS to clear text, with the credentials and certificate checks of
the first connection; never through ldap3's auto_referrals.  Offline: ldap3's Connection and
Server are replaced by fakes that record what would have gone on the wire."""

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._ldap import client as ldap_client
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError

BASE = "DC=contoso,DC=com"
CHILD = "DC=emea,DC=contoso,DC=com"
REFERRAL = "ldap://dc1.emea.contoso.com/" + CHILD


class World:
    """What every fake connection saw: opened servers, binds, StartTLS, searches, modifies."""

    def __init__(self, answers):
        self.answers = answers  # host -> result dict of any operation sent there
        self.servers, self.binds, self.start_tls, self.operations = [], [], [], []


def install(monkeypatch, answers):
    world = World(answers)

    class Server:
        def __init__(self, host, port=None, use_ssl=False, tls=None, **kwargs):
            self.host, self.port, self.ssl, self.tls = host, port, use_ssl, tls
            world.servers.append((host, port, use_ssl, tls))

    class Connection:
        def __init__(self, server, **options):
            self.server, self.options = server, options
            self.result, self.response = None, []
            assert options["auto_referrals"] is False, "ldap3 must never follow a referral by itself"

        def open(self):
            pass

        def start_tls(self):
            world.start_tls.append(self.server.host)
            return True

        def bind(self):
            world.binds.append((self.server.host, self.options.get("user"), self.options.get("password"),
                                self.server.ssl or self.server.host in world.start_tls))
            return True

        def _answer(self, what, dn):
            world.operations.append((self.server.host, what, dn))
            self.result = dict(world.answers.get(self.server.host, {"result": 0, "description": "success"}))
            self.response = ([{"type": "searchResEntry", "dn": dn, "attributes": {"cn": ["x"]}, "raw_attributes": {}}]
                             if what == "search" and self.result["result"] == 0 else [])
            return self.result["result"] == 0

        def search(self, base, search_filter, **kwargs):
            return self._answer("search", base)

        def modify(self, dn, changes):
            return self._answer("modify", dn)

        def modify_dn(self, dn, rdn, **kwargs):
            return self._answer("move", dn)

        def unbind(self):
            pass

    monkeypatch.setattr(ldap_client.ldap3, "Server", Server)
    monkeypatch.setattr(ldap_client.ldap3, "Connection", Connection)
    return world


def referral(*uris):
    return {"result": 10, "description": "referral", "referrals": list(uris), "message": ""}


def connect(tls_mode="ldaps", **options):
    return ldap_client.DirectoryConnection(["dc1.contoso.com"], bind_dn="svc@contoso.com", bind_password="pw",
                                           tls_mode=tls_mode, base_dn=BASE, **options).connect()


def test_a_referral_is_not_followed_when_referrals_is_off(monkeypatch):
    world = install(monkeypatch, {"dc1.contoso.com": referral(REFERRAL)})
    with pytest.raises(ldap_client.LdapError) as raised:
        list(connect().search("(objectClass=user)", ["cn"], base=CHILD))
    assert "answered with a referral to %s; referrals is false" % REFERRAL in str(raised.value)
    assert [s[0] for s in world.servers] == ["dc1.contoso.com"]


@pytest.mark.parametrize("uri", [
    REFERRAL,  # another domain's DC not listed anywhere
    "ldaps://attacker.example/" + CHILD,
    "ldap://dc1.contoso.com.attacker.example/" + CHILD,
])
def test_a_referral_to_a_host_not_allowed_is_refused_before_anything_is_sent(monkeypatch, uri):
    world = install(monkeypatch, {"dc1.contoso.com": referral(uri)})
    with pytest.raises(ldap_client.ReferralRefused) as raised:
        list(connect(referrals=True).search("(objectClass=user)", ["cn"], base=CHILD))
    message = str(raised.value)
    assert "referral to %s not followed" % uri in message and "referral_hosts" in message, message
    assert "dc1.contoso.com" in message  # the allowed hosts are named
    assert isinstance(raised.value, InputError)
    assert [s[0] for s in world.servers] == ["dc1.contoso.com"], "no connection to the referred host"
    assert [b[0] for b in world.binds] == ["dc1.contoso.com"], "the credentials went nowhere else"


def test_a_referral_to_a_listed_host_is_followed_with_the_same_credentials_and_checks(monkeypatch):
    world = install(monkeypatch, {"dc1.contoso.com": referral(REFERRAL)})
    connection = connect(referrals=True, referral_hosts=["DC1.EMEA.contoso.com"], ca_path=None)
    entries = list(connection.search("(objectClass=user)", ["cn"], base=CHILD))
    assert [e["dn"] for e in entries] == [CHILD]
    assert world.operations == [("dc1.contoso.com", "search", CHILD), ("dc1.emea.contoso.com", "search", CHILD)]
    # ldap:// from an LDAPS connection: StartTLS on 389 before the bind, never a clear-text bind.
    host, port, use_ssl, tls = world.servers[1]
    assert (host, port, use_ssl) == ("dc1.emea.contoso.com", 389, False)
    assert world.start_tls == ["dc1.emea.contoso.com"]
    assert world.binds[1] == ("dc1.emea.contoso.com", "svc@contoso.com", "pw", True)
    assert tls.validate == ldap_client.ssl.CERT_REQUIRED, "the certificate is checked as on the first connection"
    assert connection.stats["searches"] == 2 and connection.stats["referrals_followed"] == 1


def test_an_ldaps_referral_stays_ldaps(monkeypatch):
    world = install(monkeypatch, {"dc1.contoso.com": referral("ldaps://dc1.emea.contoso.com:3269/" + CHILD)})
    list(connect(tls_mode="starttls", referrals=True, referral_hosts=["dc1.emea.contoso.com"]).search(
        "(cn=*)", ["cn"], base=CHILD))
    assert world.servers[1][:3] == ("dc1.emea.contoso.com", 3269, True)


def test_a_modify_and_a_move_answered_with_a_referral_go_to_the_allowed_host_only(monkeypatch):
    world = install(monkeypatch, {"dc1.contoso.com": referral("ldap://dc2.contoso.com/" + BASE)})
    connection = ldap_client.DirectoryConnection(["dc1.contoso.com", "dc2.contoso.com"], bind_dn="svc", bind_password="pw",
                                                 base_dn=BASE, referrals=True).connect()
    connection.modify("CN=u," + BASE, {"mail": [("replace", ["u@contoso.com"])]})
    connection.move("CN=u," + BASE, "OU=x," + BASE)
    assert [op[:2] for op in world.operations] == [("dc1.contoso.com", "modify"), ("dc2.contoso.com", "modify"),
                                                   ("dc1.contoso.com", "move"), ("dc2.contoso.com", "move")]
    assert connection.stats["modifies"] == 1 and connection.stats["moves"] == 1
    assert len(world.servers) == 2, "the referred connection is made once and kept"


def test_a_referral_from_plain_ldap_asked_for_by_name_stays_plain(monkeypatch):
    world = install(monkeypatch, {"dc1.contoso.com": referral("ldap://dc2.contoso.com/" + BASE)})
    connection = ldap_client.DirectoryConnection(["dc1.contoso.com", "dc2.contoso.com"], bind_dn="svc", bind_password="pw",
                                                 tls_mode="none", base_dn=BASE, referrals=True).connect()
    list(connection.search("(cn=*)", ["cn"]))
    assert world.start_tls == [] and world.servers[1][:3] == ("dc2.contoso.com", 389, False)


@pytest.mark.parametrize("uri,tls_mode,expected", [
    ("ldap://dc.x/DC=x", "ldaps", ("dc.x", 389, "starttls", "DC=x")),
    ("ldap://dc.x:1389/DC=x", "starttls", ("dc.x", 1389, "starttls", "DC=x")),
    ("ldap://dc.x/DC=x", "none", ("dc.x", 389, "none", "DC=x")),
    ("ldaps://dc.x", "ldaps", ("dc.x", 636, "ldaps", None)),
])
def test_referral_endpoint_never_goes_from_tls_to_clear_text(uri, tls_mode, expected):
    assert ldap_client.referral_endpoint(uri, tls_mode, ["DC.X"]) == expected


@pytest.mark.parametrize("uri", ["garbage", "http://dc.x/DC=x", "ldap:///DC=x", None])
def test_a_referral_that_is_not_an_ldap_url_is_refused(uri):
    assert isinstance(ldap_client.referral_endpoint(uri, "ldaps", ["dc.x"]), ldap_client.ReferralRefused)

"""Clients reach the DC only over TLS that they validate against the lab CA, and only on 127.0.0.1."""

from __future__ import annotations

import pathlib
import socket
import ssl

import ldap3
import pytest
from cryptography import x509
from ldap3.core.exceptions import LDAPSocketOpenError, LDAPStartTLSError

from lab.samba_dc.settings import DcSettings

# ldap3 2.9.1 checks the host name with the deprecated ssl.match_hostname (it still checks).
pytestmark = pytest.mark.filterwarnings("ignore:ssl.match_hostname:DeprecationWarning")



def _bind_names(facts):
    user = facts["bind_dn"].split(",")[0].split("=")[1]
    return {
        "dn": facts["bind_dn"],
        "upn": "%s@%s" % (user.lower(), facts["realm"].lower()),
        "netbios": "%s\\%s" % (facts["netbios_domain"], user),
    }


@pytest.mark.parametrize("form", ["dn", "upn", "netbios"])
def test_ldaps_simple_bind_with_certificate_validation(dc, make_ldaps_server, form):
    connection = ldap3.Connection(
        make_ldaps_server(), _bind_names(dc)[form], dc["bind_password"], raise_exceptions=False,
    )
    assert connection.bind(), connection.result
    # The bind really happened over a validated TLS session.
    assert isinstance(connection.socket, ssl.SSLSocket)
    assert connection.socket.getpeercert()["subject"]
    # An authenticated read that anonymous binds are refused.
    assert connection.search(dc["base_dn"], "(sAMAccountName=Administrator)", attributes=["objectSid"])
    assert len(connection.entries) == 1
    connection.unbind()


def test_starttls_on_ldap_port_with_certificate_validation(dc, lab_tls):
    server = ldap3.Server(dc["ldap_server"], port=dc["ldap_port"], tls=lab_tls)
    connection = ldap3.Connection(server, dc["bind_dn"], dc["bind_password"], raise_exceptions=False)
    connection.open()
    assert not isinstance(connection.socket, ssl.SSLSocket)
    assert connection.start_tls(), connection.result
    assert isinstance(connection.socket, ssl.SSLSocket)
    assert connection.bind(), connection.result
    connection.unbind()


def test_plain_simple_bind_on_ldap_port_is_refused(dc):
    # As on a hardened AD: a simple bind without TLS gets strongerAuthRequired.
    server = ldap3.Server(dc["ldap_server"], port=dc["ldap_port"])
    connection = ldap3.Connection(server, dc["bind_dn"], dc["bind_password"], raise_exceptions=False)
    assert not connection.bind()
    assert connection.result["description"] == "strongerAuthRequired"


def test_ldaps_client_without_the_lab_ca_fails_the_handshake(dc, make_ldaps_server):
    # Validation on, system trust store only: the lab CA is not in it.
    server = make_ldaps_server(tls=ldap3.Tls(validate=ssl.CERT_REQUIRED))
    connection = ldap3.Connection(server, dc["bind_dn"], dc["bind_password"])
    with pytest.raises(LDAPSocketOpenError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        connection.bind()


def test_starttls_client_without_the_lab_ca_fails_the_handshake(dc):
    server = ldap3.Server(dc["ldap_server"], port=dc["ldap_port"], tls=ldap3.Tls(validate=ssl.CERT_REQUIRED))
    connection = ldap3.Connection(server, dc["bind_dn"], dc["bind_password"], raise_exceptions=False)
    connection.open()
    with pytest.raises((LDAPStartTLSError, LDAPSocketOpenError, ssl.SSLError)):
        if not connection.start_tls():
            raise LDAPStartTLSError(str(connection.result))


def test_wrong_password_is_invalid_credentials(dc, make_ldaps_server):
    connection = ldap3.Connection(
        make_ldaps_server(), dc["bind_dn"], dc["bind_password"] + "x", raise_exceptions=False,
    )
    assert not connection.bind()
    assert connection.result["description"] == "invalidCredentials"
    assert connection.result["result"] == 49


def test_anonymous_reads_only_the_root_dse(dc, make_ldaps_server):
    connection = ldap3.Connection(make_ldaps_server(), raise_exceptions=False)
    assert connection.bind()
    assert connection.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["defaultNamingContext"])
    assert str(connection.entries[0].defaultNamingContext) == dc["base_dn"]
    connection.search(dc["base_dn"], "(objectClass=user)")
    assert connection.entries == []
    connection.unbind()


def test_server_certificate_names_the_dc_localhost_and_loopback(dc):
    ca = x509.load_pem_x509_certificate(pathlib.Path(dc["ldap_ca_path"]).read_bytes())
    pem = ssl.get_server_certificate((dc["ldap_server"], dc["ldaps_port"]))
    cert = x509.load_pem_x509_certificate(pem.encode())
    assert cert.issuer == ca.subject
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {dc["dc_fqdn"], "localhost"}
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


@pytest.mark.parametrize("name", ["dc1.contoso.test", "localhost", "127.0.0.1"])
def test_certificate_validates_for_each_name(dc, name):
    context = ssl.create_default_context(cafile=dc["ldap_ca_path"])
    with socket.create_connection((dc["ldap_server"], dc["ldaps_port"]), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_certificate_does_not_validate_for_another_name(dc):
    context = ssl.create_default_context(cafile=dc["ldap_ca_path"])
    with socket.create_connection((dc["ldap_server"], dc["ldaps_port"]), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch|doesn't match"):
            context.wrap_socket(raw, server_hostname="dc2.contoso.test")


def _listening(proto_file: str, ports: set[int]) -> list[tuple[str, int]]:
    """(local address hex, port) of the listening/bound sockets on ``ports``."""
    found = []
    for line in pathlib.Path(proto_file).read_text().splitlines()[1:]:
        fields = line.split()
        address, port = fields[1].rsplit(":", 1)
        state = fields[3]
        # TCP: 0A = LISTEN; UDP: 07 = unconnected (bound).
        if int(port, 16) in ports and state in ("0A", "07"):
            found.append((address, int(port, 16)))
    return found


def test_dc_listens_on_loopback_only(dc):
    kdc = DcSettings.from_environment()
    ports = {dc["ldap_port"], dc["ldaps_port"], 3268, 3269, kdc.kdc_port, kdc.kpasswd_port}
    sockets = []
    for name in ("tcp", "udp", "tcp6", "udp6"):
        path = "/proc/net/%s" % name
        if pathlib.Path(path).exists():
            sockets += [(name,) + item for item in _listening(path, ports)]
    tcp_ports = {port for name, _address, port in sockets if name == "tcp"}
    assert {dc["ldap_port"], dc["ldaps_port"]} <= tcp_ports
    # 0100007F is 127.0.0.1 in /proc/net's little-endian hex.
    assert [s for s in sockets if s[1] != "0100007F"] == []

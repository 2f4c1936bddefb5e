"""What the lab's domain controller is: names, addresses, ports and where its files live."""

from __future__ import annotations

import dataclasses
import os
import pathlib

# Samba 4.17 has no smb.conf parameter for its LDAP ports: the ldap service listens on 389
# (LDAP + StartTLS), 636 (LDAPS), 3268/3269 (global catalog) and nothing else. The KDC ports
# are parameters (``krb5 port``, ``kpasswd port``), so only those can move.
LDAP_PORT = 389
LDAPS_PORT = 636
GC_PORT = 3268
GC_TLS_PORT = 3269

STATE_SUBDIR = "samba"


@dataclasses.dataclass(frozen=True)
class DcSettings:
    """The domain the lab provisions. Defaults match the scenarios (contoso.test / contoso.com)."""

    realm: str = "CONTOSO.TEST"
    netbios_domain: str = "CONTOSO"
    host_name: str = "dc1"
    address: str = "127.0.0.1"
    upn_suffixes: tuple[str, ...] = ("contoso.com",)
    kdc_port: int = 88
    kpasswd_port: int = 464

    @property
    def dns_domain(self) -> str:
        return self.realm.lower()

    @property
    def fqdn(self) -> str:
        return "%s.%s" % (self.host_name, self.dns_domain)

    @property
    def base_dn(self) -> str:
        return ",".join("DC=%s" % part for part in self.dns_domain.split("."))

    @property
    def admin_dn(self) -> str:
        return "CN=Administrator,CN=Users,%s" % self.base_dn

    @classmethod
    def from_environment(cls) -> "DcSettings":
        """Defaults, with the KDC ports movable by ``LAB_SAMBA_KDC_PORT`` / ``LAB_SAMBA_KPASSWD_PORT``."""
        return cls(
            kdc_port=int(os.environ.get("LAB_SAMBA_KDC_PORT", cls.kdc_port)),
            kpasswd_port=int(os.environ.get("LAB_SAMBA_KPASSWD_PORT", cls.kpasswd_port)),
        )


@dataclasses.dataclass(frozen=True)
class DcPaths:
    """Every file of the DC sits under ``<state_dir>/samba``; the live tree is ``dc/``."""

    state_dir: pathlib.Path

    @property
    def root(self) -> pathlib.Path:
        return self.state_dir / STATE_SUBDIR

    @property
    def dc(self) -> pathlib.Path:
        return self.root / "dc"

    @property
    def snapshot(self) -> pathlib.Path:
        return self.root / "pristine.tar"

    @property
    def lock(self) -> pathlib.Path:
        return self.root / ".lock"

    @property
    def smb_conf(self) -> pathlib.Path:
        return self.dc / "etc" / "smb.conf"

    @property
    def sam_ldb(self) -> pathlib.Path:
        return self.dc / "private" / "sam.ldb"

    @property
    def tls(self) -> pathlib.Path:
        return self.dc / "tls"

    @property
    def ca_cert(self) -> pathlib.Path:
        return self.tls / "ca.pem"

    @property
    def server_cert(self) -> pathlib.Path:
        return self.tls / "server.pem"

    @property
    def server_key(self) -> pathlib.Path:
        return self.tls / "server.key"

    @property
    def run(self) -> pathlib.Path:
        return self.dc / "run"

    @property
    def pid_file(self) -> pathlib.Path:
        return self.run / "samba.pid"

    @property
    def log_file(self) -> pathlib.Path:
        return self.dc / "log" / "samba.log"

    @property
    def meta(self) -> pathlib.Path:
        """Password, recipe version and the path the tree was provisioned at (smb.conf is absolute)."""
        return self.dc / "lab-dc.json"

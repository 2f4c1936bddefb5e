"""Provision a Samba AD DC into one folder, writing nothing outside it.

Options measured in LAB-NOTES: ``--dns-backend=NONE`` and ``server services = ldap cldap kdc``
keep the DC small; the directory options keep Samba from writing under /var or /run;
``ldb:nosync = true`` doubles the speed of adds (the lab never needs crash safety).
"""

from __future__ import annotations

import subprocess

from .settings import DcPaths, DcSettings


def smb_options(settings: DcSettings, paths: DcPaths) -> dict[str, str]:
    """The smb.conf [global] options given to ``samba-tool domain provision``."""
    return {
        "interfaces": settings.address,
        "bind interfaces only": "yes",
        "server services": "ldap cldap kdc",
        "krb5 port": str(settings.kdc_port),
        "kpasswd port": str(settings.kpasswd_port),
        "pid directory": str(paths.run),
        "ncalrpc dir": str(paths.run / "ncalrpc"),
        "winbindd socket directory": str(paths.run / "winbindd"),
        "ntp signd socket directory": str(paths.run / "ntp_signd"),
        "log file": str(paths.log_file),
        "ldb:nosync": "true",
        # Our own CA-issued certificate, so clients validate the DC for real.
        "tls enabled": "yes",
        "tls keyfile": str(paths.server_key),
        "tls certfile": str(paths.server_cert),
        "tls cafile": str(paths.ca_cert),
        # Keep the default that real AD enforces for simple binds: no plain-text bind on 389
        # (strongerAuthRequired); StartTLS or LDAPS is needed.
        "ldap server require strong auth": "yes",
    }


def provision(settings: DcSettings, paths: DcPaths, admin_password: str) -> None:
    """Run ``samba-tool domain provision`` into ``paths.dc`` (which must not hold a domain yet)."""
    for folder in (paths.run, paths.log_file.parent):
        folder.mkdir(parents=True, exist_ok=True)
    command = [
        "samba-tool", "domain", "provision",
        "--realm=%s" % settings.realm,
        "--domain=%s" % settings.netbios_domain,
        "--server-role=dc",
        "--dns-backend=NONE",
        "--adminpass=%s" % admin_password,
        "--host-name=%s" % settings.host_name,
        "--host-ip=%s" % settings.address,
        "--use-rfc2307",
        "--backend-store=mdb",
        "--targetdir=%s" % paths.dc,
    ]
    command += ["--option=%s = %s" % item for item in smb_options(settings, paths).items()]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            "samba-tool domain provision into %s failed (exit %d):\n%s"
            % (paths.dc, result.returncode, (result.stderr or result.stdout)[-4000:])
        )

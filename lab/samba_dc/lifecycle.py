"""``up``, ``down``, ``reset`` and ``status`` of the lab's Samba AD DC.

Every call takes the lab state folder (``lab/.state``); the DC lives in ``<state>/samba``.
Calls are serialised with a lock file, so two ``lab up`` runs cannot provision twice.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import logging
import os
import pathlib
import secrets
import shutil
import time

from . import certificates, process, provision, schema, snapshot
from .settings import GC_PORT, GC_TLS_PORT, LDAP_PORT, LDAPS_PORT, DcPaths, DcSettings

LOG = logging.getLogger("lab.samba_dc")

# Bump when the way a DC is made changes in a way the recipe hash below cannot see.
RECIPE_FORMAT = 1


def recipe(settings: DcSettings, paths: DcPaths) -> str:
    """A fingerprint of everything that shapes a provisioned tree; snapshots carry it."""
    material = json.dumps([
        RECIPE_FORMAT,
        [str(value) for value in vars(settings).values()],
        provision.smb_options(settings, paths),
        schema.attribute_ldif(settings),
        schema.may_contain_ldif(settings),
        schema.upn_suffix_ldif(settings),
    ], sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


@contextlib.contextmanager
def _locked(paths: DcPaths):
    paths.root.mkdir(parents=True, exist_ok=True)
    with open(paths.lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_meta(paths: DcPaths) -> dict | None:
    try:
        return json.loads(paths.meta.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _admin_password() -> str:
    # Meets the default AD complexity rule (three of: upper, lower, digit, symbol).
    return "Lab-%s-9z" % secrets.token_urlsafe(12)


def _provision_fresh(settings: DcSettings, paths: DcPaths, fingerprint: str) -> None:
    started = time.monotonic()
    if paths.dc.exists():
        shutil.rmtree(paths.dc)
    paths.dc.mkdir(parents=True)
    certificates.issue(paths.tls, [settings.fqdn, "localhost"], [settings.address])
    password = _admin_password()
    provision.provision(settings, paths, password)
    schema.extend(settings, paths)
    meta = {
        "recipe": fingerprint,
        "dc_path": str(paths.dc),
        "admin_password": password,
        "provisioned_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    fd = os.open(paths.meta, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(meta, handle, indent=2)
    LOG.info("samba_dc: provisioned %s in %.1f s", paths.dc, time.monotonic() - started)
    started = time.monotonic()
    snapshot.save(paths)
    LOG.info("samba_dc: saved snapshot %s in %.1f s", paths.snapshot, time.monotonic() - started)


def _make_pristine(settings: DcSettings, paths: DcPaths, fingerprint: str) -> None:
    """Put a pristine tree in place: from the snapshot when usable, else by provisioning."""
    if snapshot.usable(paths, fingerprint):
        started = time.monotonic()
        snapshot.restore(paths)
        LOG.info("samba_dc: restored %s in %.1f s", paths.snapshot, time.monotonic() - started)
    else:
        _provision_fresh(settings, paths, fingerprint)


def _check_ports_free(settings: DcSettings) -> None:
    ports = {
        "LDAP": LDAP_PORT, "LDAPS": LDAPS_PORT, "global catalog": GC_PORT,
        "global catalog TLS": GC_TLS_PORT, "Kerberos (krb5 port)": settings.kdc_port,
        "kpasswd": settings.kpasswd_port,
    }
    taken = {name: port for name, port in ports.items() if process.port_in_use(settings.address, port)}
    if taken:
        raise RuntimeError(
            "cannot start the lab Samba DC: %s already in use on %s (another LDAP server or "
            "DC?). Samba 4.17 cannot move its LDAP ports; stop the other service, or move the "
            "KDC with LAB_SAMBA_KDC_PORT / LAB_SAMBA_KPASSWD_PORT.\n%s"
            % (", ".join("%s %d" % item for item in taken.items()), settings.address,
               process.who_listens(taken.values()))
        )


def facts(settings: DcSettings, paths: DcPaths, pid: int | None) -> dict:
    """The keys the lab writes into lab.json for clients of the DC."""
    meta = _read_meta(paths) or {}
    return {
        "ldap_server": settings.address,
        "ldaps_port": LDAPS_PORT,
        "ldap_port": LDAP_PORT,
        "base_dn": settings.base_dn,
        "bind_dn": settings.admin_dn,
        "bind_password": meta.get("admin_password"),
        "ldap_ca_path": str(paths.ca_cert),
        "realm": settings.realm,
        "netbios_domain": settings.netbios_domain,
        "dc_fqdn": settings.fqdn,
        "upn_suffixes": list(settings.upn_suffixes),
        "samba_pid": pid,
    }


def _start(settings: DcSettings, paths: DcPaths) -> int:
    _check_ports_free(settings)
    started = time.monotonic()
    pid = process.start(paths)
    try:
        waited = process.wait_ldaps(settings.address, LDAPS_PORT, paths.ca_cert, pid)
    except Exception:
        process.stop(pid)
        raise
    LOG.info("samba_dc: pid %d, LDAPS ready %.1f s after start (%.1f s waiting)",
             pid, time.monotonic() - started, waited)
    return pid


def _lease_marker(paths: DcPaths) -> pathlib.Path:
    return paths.root / "started-by-lease"


def lease_started(paths: DcPaths) -> bool:
    """True when a lease (see sharing.py) started the running DC and nobody claimed it since."""
    return _lease_marker(paths).exists()


def _up(settings: DcSettings, paths: DcPaths) -> tuple[dict, bool]:
    """(facts, started): start the DC unless it runs. Caller holds the lock."""
    pid = process.running_pid(paths)
    if pid is not None:
        process.wait_ldaps(settings.address, LDAPS_PORT, paths.ca_cert, pid)
        return facts(settings, paths, pid), False
    fingerprint = recipe(settings, paths)
    meta = _read_meta(paths)
    if meta is None or meta.get("recipe") != fingerprint or meta.get("dc_path") != str(paths.dc):
        _make_pristine(settings, paths, fingerprint)
    return facts(settings, paths, _start(settings, paths)), True


def up(state_dir: pathlib.Path, settings: DcSettings | None = None) -> dict:
    """Provision (or restore) if needed, start, wait for LDAPS; return the facts. Idempotent.

    A DC started through ``up`` stays up when test sessions' leases end.
    """
    settings = settings or DcSettings.from_environment()
    paths = DcPaths(pathlib.Path(state_dir).resolve())
    with _locked(paths):
        result, _started = _up(settings, paths)
        _lease_marker(paths).unlink(missing_ok=True)
        return result


def up_for_lease(state_dir: pathlib.Path, settings: DcSettings | None = None) -> tuple[dict, bool]:
    """``up`` for sharing.py: (facts, started_here); a DC it starts is marked as lease-started."""
    settings = settings or DcSettings.from_environment()
    paths = DcPaths(pathlib.Path(state_dir).resolve())
    with _locked(paths):
        result, started = _up(settings, paths)
        if started:
            _lease_marker(paths).touch()
        return result, started


def down(state_dir: pathlib.Path) -> dict:
    """Stop the DC by its pid (TERM, wait, KILL); no samba process of this DC is left."""
    paths = DcPaths(pathlib.Path(state_dir).resolve())
    with _locked(paths):
        _lease_marker(paths).unlink(missing_ok=True)
        pid = process.running_pid(paths)
        if pid is None:
            # A master that died may leave task processes (they share its session), and a
            # master whose pid file was removed still holds the tree's files open.
            stale = process.read_pid(paths)
            if stale is not None and process.session_members(stale):
                process.stop(stale)
            orphans = process.masters_using(paths.dc)
            for orphan in orphans:
                LOG.info("samba_dc: stopping pid %d, which runs on %s without a pid file", orphan, paths.dc)
                process.stop(orphan)
            return {"stopped": orphans[0] if orphans else None}
        process.stop(pid)
        paths.pid_file.unlink(missing_ok=True)
        LOG.info("samba_dc: stopped pid %d", pid)
        return {"stopped": pid}


def reset(state_dir: pathlib.Path, settings: DcSettings | None = None) -> dict:
    """Stop the DC, put back the pristine snapshot, start it again; return the facts."""
    settings = settings or DcSettings.from_environment()
    paths = DcPaths(pathlib.Path(state_dir).resolve())
    down(state_dir)
    with _locked(paths):
        _make_pristine(settings, paths, recipe(settings, paths))
        return facts(settings, paths, _start(settings, paths))


def status(state_dir: pathlib.Path, settings: DcSettings | None = None) -> dict:
    """Whether the DC is provisioned and running, with its facts when it runs."""
    settings = settings or DcSettings.from_environment()
    paths = DcPaths(pathlib.Path(state_dir).resolve())
    pid = process.running_pid(paths)
    result = {
        "running": pid is not None,
        "provisioned": _read_meta(paths) is not None,
        "snapshot": paths.snapshot.is_file(),
        "state_dir": str(paths.root),
    }
    if pid is not None:
        result["facts"] = facts(settings, paths, pid)
    return result

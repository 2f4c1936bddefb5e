"""up is idempotent, down leaves no process, reset brings back exactly the pristine DC."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import time
import uuid

import ldap3
import pytest

from lab import samba_dc
from lab.samba_dc import process
from lab.samba_dc.settings import DcPaths

pytestmark = pytest.mark.filterwarnings("ignore:ssl.match_hostname:DeprecationWarning")

FACT_KEYS = {"ldap_server", "ldaps_port", "ldap_port", "base_dn", "bind_dn", "bind_password",
             "ldap_ca_path", "realm", "samba_pid"}


def _samba_processes() -> list[int]:
    """Every live samba process on the machine, whoever started it."""
    return [int(entry.name) for entry in pathlib.Path("/proc").iterdir()
            if entry.name.isdigit() and process.is_samba(int(entry.name))]


def _ps() -> str:
    return subprocess.run(["ps", "-eo", "pid,ppid,sid,stat,etime,cmd"], capture_output=True, text=True).stdout


def _ss() -> str:
    return subprocess.run(["ss", "-tanup"], capture_output=True, text=True).stdout


def _can_bind(facts, make_ldaps_server) -> bool:
    connection = ldap3.Connection(make_ldaps_server(), facts["bind_dn"], facts["bind_password"],
                                  raise_exceptions=False)
    ok = connection.bind()
    connection.unbind()
    return ok


def test_facts_carry_the_lab_json_keys(dc):
    assert FACT_KEYS <= set(dc)
    assert dc["ldap_server"] == "127.0.0.1"
    assert dc["realm"] == "CONTOSO.TEST"
    assert dc["base_dn"] == "DC=contoso,DC=test"
    assert pathlib.Path(dc["ldap_ca_path"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert len(dc["bind_password"]) >= 12
    assert process.is_samba(dc["samba_pid"])


@pytest.mark.lifecycle
def test_up_is_idempotent(dc, state_dir):
    started = time.monotonic()
    again = samba_dc.up(state_dir)
    assert time.monotonic() - started < 3
    assert again["samba_pid"] == samba_dc.status(state_dir)["facts"]["samba_pid"]
    assert {key: again[key] for key in FACT_KEYS - {"samba_pid"}} == \
        {key: dc[key] for key in FACT_KEYS - {"samba_pid"}}


@pytest.mark.lifecycle
def test_down_leaves_no_samba_process_and_up_starts_again(dc, state_dir, make_ldaps_server):
    pid = samba_dc.status(state_dir)["facts"]["samba_pid"]
    assert process.session_members(pid), "the DC should have its task processes"

    assert samba_dc.down(state_dir)["stopped"] == pid
    assert process.session_members(pid) == [], _ps()
    assert _samba_processes() == [], _ps()
    assert not process.port_in_use(dc["ldap_server"], dc["ldaps_port"]), _ss()
    assert samba_dc.status(state_dir)["running"] is False
    assert samba_dc.down(state_dir) == {"stopped": None}

    started = time.monotonic()
    facts = samba_dc.up(state_dir)
    assert time.monotonic() - started < 15
    assert facts["samba_pid"] != pid
    assert _can_bind(facts, make_ldaps_server)


@pytest.fixture
def tree_kept(dc, state_dir, tmp_path):
    """Put the DC tree back as it was before the test, so a developer's loaded scenario
    survives the reset test (the DC is restarted, with a new pid)."""
    paths = DcPaths(pathlib.Path(state_dir).resolve())
    saved = tmp_path / "before-reset.tar"
    samba_dc.down(state_dir)
    subprocess.run(["tar", "-C", str(paths.root), "-cf", str(saved), paths.dc.name], check=True)
    samba_dc.up(state_dir)
    yield
    samba_dc.down(state_dir)
    shutil.rmtree(paths.dc)
    subprocess.run(["tar", "-C", str(paths.root), "-xf", str(saved)], check=True)
    samba_dc.up(state_dir)


@pytest.mark.lifecycle
def test_reset_restores_the_pristine_directory(tree_kept, dc, state_dir, admin, test_ou, make_ldaps_server):
    name = "gone%s" % uuid.uuid4().hex[:8]
    dn = "CN=%s,%s" % (name, test_ou)
    assert admin.add(dn, ["top", "person", "organizationalPerson", "user"], {"sAMAccountName": name})
    admin.unbind()

    started = time.monotonic()
    facts = samba_dc.reset(state_dir)
    assert time.monotonic() - started < 15
    assert facts["bind_password"] == dc["bind_password"]

    connection = ldap3.Connection(make_ldaps_server(), facts["bind_dn"], facts["bind_password"],
                                  auto_bind=True, raise_exceptions=False)
    connection.search(dc["base_dn"], "(sAMAccountName=%s)" % name)
    assert connection.result["description"] == "success"
    # Subtree searches from the domain root also return continuation references: count entries.
    assert [e for e in connection.response if e.get("type") == "searchResEntry"] == []
    connection.search("CN=Partitions,CN=Configuration,%s" % dc["base_dn"], "(objectClass=*)",
                      search_scope=ldap3.BASE, attributes=["uPNSuffixes"])
    assert b"contoso.com" in connection.response[0]["raw_attributes"]["uPNSuffixes"]
    connection.unbind()


@pytest.mark.lifecycle
def test_nothing_written_outside_the_state_dir(dc, state_dir):
    # Samba's compiled-in defaults point at /var/lib/samba, /var/log/samba, /run/samba; the
    # provision options and --log-basename must keep this DC out of them.
    root = DcPaths(pathlib.Path(state_dir).resolve()).root
    for folder in ("/var/lib/samba/private", "/var/log/samba", "/var/cache/samba"):
        if os.path.isdir(folder):
            recent = [entry.name for entry in os.scandir(folder)
                      if entry.stat().st_mtime >= (root / "dc").stat().st_mtime - 1]
            assert recent == [], folder

"""The remediation role end to end: each scenario loaded into the real DC (LDAPS, certificate
validation on) and a private Graph emulator whose Cloud Sync job runs the sync simulator; the
role plans in check mode (nothing written), applies, runs the cycle, verifies, and a second run
changes nothing.  A scenario the plan calls blocked stops before any change."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest

from lab import checkout_collection, scenario
from lab.scenario import ad_side

pytestmark = pytest.mark.lifecycle  # resets the DC for each scenario

REPO = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(sys.executable).parent
FAST = 0.01  # the Cloud Sync job's PT2M schedule lasts 1.2 s
SCENARIOS = sorted(path.stem for path in scenario.SCENARIO_DIR.glob("*.yml"))
# The scenarios a person must resolve, and the documented rule the plan must name for each;
# every other scenario converges.
BLOCKED_BY = {
    "admin-role": "ExistingAdminRoleConflict",
    "anchor-changed": "AttributeUpdateNotAllowed",
    "hardening-object-identifier": "AttributeUpdateNotAllowed",
    "hardening-privileged-role": "InvalidHardMatch",
    "object-type-mismatch": "ObjectTypeMismatch",
}


def connection_vars(dc, emulator):
    (service_principal,) = emulator.lab("GET", "/state")["servicePrincipals"]
    return checkout_collection.remediation_vars(dc, emulator.facts, service_principal,
                                                remediation_verify_retries=10, remediation_verify_delay=1)


WRAPPER = """
- name: The remediation, as a user runs it
  ansible.builtin.import_playbook: syncfix.entra.remediate

- name: What the role registered, for the test to read
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Write the plan and the verification
      ansible.builtin.copy:
        content: "{{ {'plan': remediation_plan | default(None), 'verified': remediation_verified | default(None)} | to_json }}"
        dest: "%s"
        mode: "0600"
      check_mode: false
      changed_when: false  # the test's own bookkeeping, not part of what the role changed
"""


def run_role(tmp_path, variables, check=False):
    """ansible-playbook syncfix.entra.remediate; returns (rc, {"plan", "verified", "changed"}, output)."""
    extra, out = tmp_path / "vars.json", tmp_path / "registered.json"
    extra.write_text(json.dumps(variables))
    if out.exists():
        out.unlink()
    (tmp_path / "run.yml").write_text(WRAPPER % out)
    env = checkout_collection.ansible_env()
    args = [str(BIN / "ansible-playbook"), str(tmp_path / "run.yml"), "-e", "@%s" % extra]
    completed = subprocess.run(args + (["--check"] if check else []), env=env, capture_output=True, text=True,
                               cwd=str(tmp_path), timeout=600)
    output = completed.stdout + completed.stderr
    registered = json.loads(out.read_text()) if out.exists() else {"plan": None, "verified": None}
    recap = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", completed.stdout)
    registered["changed"] = int(recap.group(1)) if recap else None
    return completed.returncode, registered, output


def usn_changed(dc, dns):
    connection = ad_side.connect(dc)
    found = {}
    for name, dn in dns.items():
        connection.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["uSNChanged"])
        found[name] = int(connection.entries[0].uSNChanged.value) if connection.entries else None
    connection.unbind()
    return found


def writes(emulator):
    return [e for e in emulator.lab("GET", "/requests")["value"]
            if e["method"] in ("POST", "PATCH", "DELETE") and e["path"] != "/$batch"
            and not e["path"].endswith("/token") and "/synchronization/" not in e["path"]]


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_role_converges_each_scenario_or_stops_on_its_blocker(dc, load, emulator, tmp_path,
                                                                   name):
    data, dns = load(name)
    emulator.sync()  # the sync before any fix: the state an admin finds
    emulator.lab("PATCH", "/config", json={"time_scale": FAST})
    variables = dict(connection_vars(dc, emulator),
                     remediation_links=[{"ad": u["sAMAccountName"]} for u in data["ad"]["users"]
                                        if not (u.get("adminDescription") or "").lower().startswith("user_")])
    users = dict((u["sAMAccountName"], dns[u["sAMAccountName"]]) for u in data["ad"]["users"])

    # Check mode: the plan is shown, nothing is written to either directory.
    emulator.lab("DELETE", "/requests")
    before = usn_changed(dc, users)
    rc, registered, output = run_role(tmp_path, variables, check=True)
    plan = registered["plan"]
    assert writes(emulator) == [] and usn_changed(dc, users) == before
    blocked = plan is None  # the role stopped on a blocker, in check mode too
    assert blocked == (name in BLOCKED_BY), output[-4000:]
    if blocked:
        assert rc != 0 and "need a person first" in output and "%s: " % BLOCKED_BY[name] in output, output[-4000:]

    rc, registered, output = run_role(tmp_path, variables)
    if blocked:
        assert rc != 0 and "need a person first" in output, output[-4000:]
        assert writes(emulator) == [] and usn_changed(dc, users) == before, "a blocked plan writes nothing"
        return
    assert rc == 0, output[-6000:]
    # Nothing to apply: the plan itself says every link is linked (the role verifies only after actions).
    verified = registered["verified"] or registered["plan"]
    assert verified["counts"]["linked"] == verified["counts"]["links"], verified["msg"]
    # The plan's promise: the cloud user each link names is the one the sync joined.
    promised = dict((row["name"], row["cloud"]["id"] if row["cloud"] else None) for row in plan["links"])
    for row in verified["links"]:
        if promised[row["name"]] is not None:
            assert row["cloud"]["id"] == promised[row["name"]], (row, plan["links"])

    rc, registered, output = run_role(tmp_path, variables)
    assert rc == 0 and registered["changed"] == 0, output[-6000:]


def test_the_vp_duplicate_is_removed_and_the_pre_created_mailbox_linked(dc, load, emulator, tmp_path):
    dummy, dns = load("resiliency-duplicate")
    emulator.sync()
    duplicates = [u for u in emulator.users() if u != "vp@contoso.com"]
    assert len(duplicates) == 1 and duplicates[0].endswith("@contoso.onmicrosoft.com"), duplicates
    emulator.lab("PATCH", "/config", json={"time_scale": FAST})
    variables = dict(connection_vars(dc, emulator), remediation_links=[{"ad": "vp", "cloud": "vp@contoso.com"}])
    rc, registered, output = run_role(tmp_path, variables, check=True)
    (row,) = registered["plan"]["links"]
    assert (row["state"], row["method"]) == ("duplicate", "remove_duplicate"), row
    assert [a["phase"] for a in row["actions"]] == ["scope_out", "cycle_out", "purge", "stamp", "scope_in", "cycle"]

    rc, registered, output = run_role(tmp_path, variables)
    assert rc == 0, output[-6000:]
    users = emulator.users()
    assert list(users) == ["vp@contoso.com"] and users["vp@contoso.com"]["onPremisesSyncEnabled"] is True
    assert users["vp@contoso.com"]["mailbox"] is True, "the pre-created mailbox is the one linked"
    assert emulator.users(deleted=True) == {}, "the duplicate was purged"
    connection = ad_side.connect(dc)
    connection.search(dns["vp"], "(objectClass=*)", search_scope="BASE", attributes=["adminDescription"])
    assert not connection.entries[0].adminDescription.value, "back in scope, as it was"
    connection.unbind()

"""The remediation role end to end, as a user runs it: the built collection installed, each lab
scenario's AD side loaded into the real DC (LDAPS, certificate validation on) under an OU of its
own, its tenant into the Graph emulator, whose Cloud Sync job runs the sync simulator over that
OU.  The role plans in check mode (nothing written: request log, uSNChanged), applies, runs the
cycle, verifies, and a second run changes nothing; a scenario a person must resolve stops
before any change, naming the documented rule.

The scenarios reuse sAMAccountNames (vp, jsmith), so they run one at a time: other
integration tests use random names and share the DC meanwhile; the ``load`` fixture (conftest.py) holds a lock across
workers, so test_scan_scenarios.py's scans take turns with these."""

import json
import re
import time

import pytest

import lab_fixtures
from lab import checkout_collection, scenario
from lab.scenario import ad_side

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


def speed_up_the_schedule(graph_lab):
    """Cloud Sync's PT2M schedule at 1.2 s, and one scheduled cycle done: what it writes back
    after the first sync must not count as the role's writes."""
    def last_run():
        (service_principal,) = graph_lab.lab("GET", "/state")["servicePrincipals"]
        return (service_principal["synchronization"]["jobs"][0]["status"].get("lastExecution") or {}).get("timeEnded")

    before = last_run()
    graph_lab.lab("PATCH", "/config", json={"time_scale": FAST})
    deadline = time.monotonic() + 15
    while last_run() == before and time.monotonic() < deadline:
        time.sleep(0.3)
    assert last_run() != before, "the Cloud Sync job did not run on its schedule"
    time.sleep(0.5)  # a cycle that began meanwhile ends


def connection_vars(samba, graph_lab):
    (service_principal,) = graph_lab.lab("GET", "/state")["servicePrincipals"]
    return checkout_collection.remediation_vars(samba, graph_lab.facts, service_principal,
                                                remediation_verify_retries=20, remediation_verify_delay=1)


PLAYBOOK = """
- name: The remediation, as a user runs it
  ansible.builtin.import_playbook: syncfix.entra.remediate
"""


def run_role(ansible, tmp_path, variables, check=False):
    """ansible-playbook syncfix.entra.remediate; returns (rc, {"plan", "verified", "changed"}, output):
    what the role registered (read by the suite's results callback) and the recap's changed count."""
    extra, out = tmp_path / "vars.json", tmp_path / lab_fixtures.RESULTS
    extra.write_text(json.dumps(variables))
    if out.exists():
        out.unlink()
    (tmp_path / "run.yml").write_text(PLAYBOOK)
    completed = ansible("ansible-playbook", str(tmp_path / "run.yml"), "-e", "@%s" % extra,
                        *(["--check"] if check else []))
    output = completed.stdout + completed.stderr
    answers = json.loads(out.read_text()) if out.exists() else {}
    recap = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", completed.stdout)
    registered = {"plan": answers.get("remediation_plan"), "verified": answers.get("remediation_verified"),
                  "changed": int(recap.group(1)) if recap else None}
    assert registered["plan"] is not None and not registered["plan"].get("failed"), output[-6000:]
    return completed.returncode, registered, output


def usn_changed(samba, dns):
    connection = ad_side.connect(samba)
    found = {}
    for name, dn in dns.items():
        connection.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["uSNChanged"])
        found[name] = int(connection.entries[0].uSNChanged.value) if connection.entries else None
    connection.unbind()
    return found


def cloud_users(graph_lab, deleted=False):
    return {u["userPrincipalName"]: u for u in graph_lab.lab("GET", "/state")["users"]
            if bool(u.get("deletedDateTime")) == deleted}


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_role_converges_each_scenario_or_stops_on_its_blocker(samba, load, graph_lab, ansible, tmp_path, name):
    data, dns = load(name)
    first = graph_lab.lab("POST", "/sync", json={})  # the sync before any fix: the state an admin finds
    assert first["result"] == data["expect"]["run_result"], first
    speed_up_the_schedule(graph_lab)
    variables = dict(connection_vars(samba, graph_lab),
                     remediation_links=[{"ad": u["sAMAccountName"]} for u in data["ad"]["users"]
                                        if not (u.get("adminDescription") or "").lower().startswith("user_")])
    users = dict((u["sAMAccountName"], dns[u["sAMAccountName"]]) for u in data["ad"]["users"])

    # Check mode: the plan is shown, nothing is written to either directory.
    graph_lab.lab("DELETE", "/requests")
    before = usn_changed(samba, users)
    rc, registered, output = run_role(ansible, tmp_path, variables, check=True)
    plan = registered["plan"]
    assert graph_lab.writes() == [] and usn_changed(samba, users) == before
    blocked = plan["counts"]["blocked"] > 0
    assert blocked == (name in BLOCKED_BY), output[-4000:]
    if blocked:  # the role stops on a blocker, in check mode too
        assert rc != 0 and "need a person first" in output and "%s: " % BLOCKED_BY[name] in output, output[-4000:]
    else:
        assert rc == 0, output[-6000:]

    rc, registered, output = run_role(ansible, tmp_path, variables)
    if blocked:
        assert rc != 0 and "need a person first" in output, output[-4000:]
        assert graph_lab.writes() == [] and usn_changed(samba, users) == before, "a blocked plan writes nothing"
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

    rc, registered, output = run_role(ansible, tmp_path, variables)
    assert rc == 0 and registered["changed"] == 0, output[-6000:]


def test_the_vp_duplicate_is_removed_and_the_pre_created_mailbox_linked(samba, load, graph_lab, ansible, tmp_path):
    dummy, dns = load("resiliency-duplicate")
    first = graph_lab.lab("POST", "/sync", json={})
    assert first["result"] == "success", first
    duplicates = [u for u in cloud_users(graph_lab) if u != "vp@contoso.com"]
    assert len(duplicates) == 1 and duplicates[0].endswith("@contoso.onmicrosoft.com"), duplicates
    speed_up_the_schedule(graph_lab)
    variables = dict(connection_vars(samba, graph_lab), remediation_links=[{"ad": "vp", "cloud": "vp@contoso.com"}])
    rc, registered, output = run_role(ansible, tmp_path, variables, check=True)
    (row,) = registered["plan"]["links"]
    assert (row["state"], row["method"]) == ("duplicate", "remove_duplicate"), row
    assert [a["phase"] for a in row["actions"]] == ["scope_out", "cycle_out", "purge", "stamp", "scope_in", "cycle"]

    rc, registered, output = run_role(ansible, tmp_path, variables)
    assert rc == 0, output[-6000:]
    users = cloud_users(graph_lab)
    assert list(users) == ["vp@contoso.com"] and users["vp@contoso.com"]["onPremisesSyncEnabled"] is True
    assert users["vp@contoso.com"]["mailbox"] is True, "the pre-created mailbox is the one linked"
    assert cloud_users(graph_lab, deleted=True) == {}, "the duplicate was purged"
    connection = ad_side.connect(samba)
    connection.search(dns["vp"], "(objectClass=*)", search_scope="BASE", attributes=["adminDescription"])
    assert not connection.entries[0].adminDescription.value, "back in scope, as it was"
    connection.unbind()

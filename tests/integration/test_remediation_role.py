"""The remediation role end to end, as a user runs it: the built collection installed, each lab
scenario's AD side loaded into the real DC (LDAPS, certificate validation on) under an OU of its
own, its tenant into the Graph emulator, whose Cloud Sync job runs the sync simulator over that
OU.  The role plans in check mode (nothing written: request log, uSNChanged), applies, runs the
cycle, verifies, and a second run changes nothing; a scenario a person must resolve stops
before any change, naming the documented rule.

The scenarios reuse sAMAccountNames and UPNs (vp, jsmith), which Samba keeps unique, so they
run one at a time: other integration tests use random names and share the DC meanwhile.  The
scan of each scenario (sync_conflicts_info) is tested here too: in a file of its own, on
another worker, it would only wait for the scenario lock (conftest's ``load``)."""

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
                                                remediation_verify_retries=20, remediation_verify_delay=1,
                                                remediation_progress_interval=1)


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
    # The cycle options the role passes through (here their defaults, spelt out).
    variables["remediation_cycle_options"].update(fail_on_errors=True, allow_resume=False)
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


# The rule the scan must name for each scenario's root cause, before the first sync; the
# scenarios without one (the sync links them as they are) must scan clean: no finding at all.
SCAN_FINDS = {
    "admin-role": {"admin_role_match"},
    "anchor-changed": {"orphaned_anchor"},
    "duplicate-on-prem": {"duplicate_address", "idfix_topleveldomain"},  # .local: IdFix names it first
    "hardening-object-identifier": {"object_identifier_mismatch"},
    "hardening-privileged-role": {"admin_role_match"},
    "object-type-mismatch": {"object_type_mismatch"},
    "orphaned-anchor": {"orphaned_anchor"},
    "recycle-bin": {"recycle_bin_holder"},
    "resiliency-duplicate": {"preprovisioned_cloud_user"},
    "secondary-alias": {"preprovisioned_cloud_user"},
    "vp-preprovisioned": {"preprovisioned_cloud_user"},
}
IDFIX_HEADER = "DISTINGUISHEDNAME,COMMONNAME,OBJECTCLASS,ATTRIBUTE,ERROR,VALUE,UPDATE,PROPOSEDACTION,ACTION"


def scan_task(samba, graph_lab, root, **args):
    options = dict((k, v) for k, v in graph_lab.auth.items() if k != "ca_path")
    options.update(graph_ca_path=graph_lab.auth["ca_path"], server=["%s:%d" % (samba["ldap_server"], samba["ldaps_port"])],
                   bind_dn=samba["bind_dn"], bind_password=samba["bind_password"], ldap_ca_path=samba["ldap_ca_path"],
                   search_bases=[root], **args)
    return {"syncfix.entra.sync_conflicts_info": options}


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_scan_names_each_scenarios_root_cause_and_writes_nothing(samba, load, graph_lab, playbook, tmp_path, name):
    data, dns = load(name)
    graph_lab.lab("DELETE", "/requests")
    before = usn_changed(samba, dns)
    rc, (result,) = playbook([scan_task(samba, graph_lab, load.root, report_path=str(tmp_path / "scan"))], check=True)
    assert not result.get("failed") and result["changed"] is False, result
    assert graph_lab.writes() == [] and usn_changed(samba, dns) == before
    assert result["sides"] == ["ad", "cloud"]
    serious = set(f["rule"] for f in result["findings"] if f["severity"] in ("error", "warning"))
    expected = SCAN_FINDS.get(name, set())
    assert expected <= serious, (name, result["findings"])
    if not expected:  # a clean scenario: nothing at all, not even an info finding
        assert result["findings"] == [] and result["remediation_links"] == [], (name, result["findings"])
    ad_counts = result["counts"]["ad"]
    assert ad_counts["objects"] + ad_counts["excluded"] >= len(data["ad"]["users"]), ad_counts
    if name == "out-of-scope":  # adminDescription User_...: Entra Connect's default rules skip it
        assert ad_counts["excluded"] >= 1 and "preprovisioned_cloud_user" not in result["counts"]["by_rule"], result
    with open(result["report"]["csv"], encoding="utf-8") as report:
        assert report.readline().strip() == IDFIX_HEADER
    for finding in result["findings"]:
        assert finding["object"] and finding["message"] and finding["action"] in ("EDIT", "REMOVE", "COMPLETE")
    # A link problem proposes the remediation_links entry that fixes it, naming a scenario user.
    for link in result["remediation_links"]:
        assert link["ad"] in dns or link["ad"] in dns.values(), (link, dns)


def test_after_the_sync_the_scan_names_the_resiliency_placeholder_and_proposes_the_link(samba, load, graph_lab, playbook):
    dummy, dns = load("resiliency-duplicate")
    assert graph_lab.lab("POST", "/sync", json={})["result"] == "success"
    rc, (result,) = playbook([scan_task(samba, graph_lab, load.root)])
    placeholders = [f for f in result["findings"] if f["rule"] == "resiliency_placeholder"]
    assert len(placeholders) == 1, result["findings"]
    (finding,) = placeholders
    holder = cloud_users(graph_lab)["vp@contoso.com"]
    assert finding["conflicts_with"] == holder["id"]
    assert finding["link"] == {"ad": "vp", "cloud": "vp@contoso.com"}
    assert {"ad": "vp", "cloud": "vp@contoso.com"} in result["remediation_links"]
    assert "provisioning_error" in result["counts"]["by_rule"], "the quarantined UPN and address are reported"

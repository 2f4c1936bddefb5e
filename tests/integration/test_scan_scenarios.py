"""sync_conflicts_info on every lab scenario: the scenario's AD side on the real DC (LDAPS), its
tenant on the Graph emulator (HTTPS); the scan must name the documented root cause, write
nothing, and find nothing at all where the sync links the scenario as it is.  Scenarios are
loaded by conftest's ``load`` fixture, which takes turns with test_remediation_role.py."""

import pytest

from lab import scenario

from test_remediation_role import cloud_users, usn_changed

SCENARIOS = sorted(path.stem for path in scenario.SCENARIO_DIR.glob("*.yml"))

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

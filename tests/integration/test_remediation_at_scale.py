"""The remediation role over the tenant-scale bench's mix of links (bench/link_scenarios.py),
end to end on the lab's Samba DC and Graph emulator: resiliency duplicates beside stamps,
alignments and restores, blocked links in scope, phases in chunks - and the same under a storm
of 429s, 503s and dropped connections.  The generated names are unique, so these tests don't
take the scenario lock and run beside the scenario tests."""

import re

import pytest

import lab_fixtures
from bench import link_scenarios
from bench.remediation_scale import STORM
from lab.scenario import ad_side
from test_remediation_role import FAST, connection_vars, run_role, usn_changed

AD_KEYS = ("ldap_server", "ldaps_port", "base_dn", "bind_dn", "bind_password", "ldap_ca_path")


@pytest.fixture
def mix(samba, graph_lab):
    """``mix(n)``: n generated links loaded as the bench loads them (AD under a fresh OU, the
    tenant, one cycle over Synced, then Onboard in scope); returns (generated, {name: kind},
    {name: the pre-created cloud user's id})."""
    connection = ad_side.connect(samba)
    roots = []

    def load(n):
        generated = link_scenarios.generate(n)
        roots.append("OU=%s,%s" % (generated["prefix"], samba["base_dn"]))
        ous = link_scenarios.load_ad(connection, generated["scenario"], roots[-1])
        graph_lab.load(link_scenarios.tenant_document(generated["scenario"]))
        ad = dict((k, samba[k]) for k in AD_KEYS)
        graph_lab.lab("PUT", "/ad", json=dict(ad, scope=[ous["Synced"]]))
        assert graph_lab.lab("POST", "/sync", json={})["result"] == "success"
        graph_lab.lab("PUT", "/ad", json=dict(ad, scope=[ous["Synced"], ous["Onboard"]]))
        graph_lab.lab("PATCH", "/config", json={"time_scale": FAST})
        kinds = dict((link["ad"], kind) for link, kind in zip(generated["links"], generated["kinds"]))
        # "Bench <kind> <index> (pre-created)": the cloud user each link must end on.
        pre_created = dict(("%s-%s" % (generated["prefix"], u["displayName"].split()[2]), u["id"])
                           for u in graph_lab.lab("GET", "/state")["users"]
                           if (u.get("displayName") or "").endswith("(pre-created)"))
        return generated, kinds, pre_created

    yield load
    for root in roots:
        connection.delete(root, controls=[(lab_fixtures.TREE_DELETE, True, None)])
    connection.unbind()


def assert_converged(verified, kinds, pre_created):
    blocked = sum(1 for kind in kinds.values() if kind in link_scenarios.BLOCKED_KINDS)
    assert (verified["counts"]["linked"], verified["counts"]["blocked"]) == (len(kinds) - blocked, blocked), \
        verified["msg"]
    for row in verified["links"]:
        if kinds[row["name"]] not in ("linked",) + link_scenarios.BLOCKED_KINDS:
            assert row["cloud"]["id"] == pre_created[row["name"]], (kinds[row["name"]], row)


def task_output(output, name):
    """The job log of the role's task named ``name`` (its first run), up to the next task."""
    start = output.index("TASK [syncfix.entra.remediation : %s" % name)
    end = output.find("TASK [", start + 1)
    return output[start:end if end > 0 else None]


def role_vars(samba, graph_lab, tmp_path, generated, **extra):
    return dict(connection_vars(samba, graph_lab), remediation_links=generated["links"], remediation_skip_blocked=True,
                remediation_allow_purge=True, remediation_backup_dir=str(tmp_path / "purged"), **extra)


def test_a_mix_of_links_with_resiliency_duplicates_converges_in_one_run(samba, graph_lab, ansible, tmp_path, mix):
    """40 links in chunks of 7: check mode writes nothing; the duplicates need the cycle in the
    middle, which must not sync the other links' users before their stamps and alignments land
    (without the hold-out it provisions duplicates of them and their stamps fail); blocked links
    are skipped; a second run changes nothing."""
    generated, kinds, pre_created = mix(40)
    assert {"duplicate", "hard", "align", "soft", "recycled", "orphaned", "admin"} <= set(kinds.values())
    variables = role_vars(samba, graph_lab, tmp_path, generated, remediation_chunk_size=7)
    root = "OU=%s,%s" % (generated["prefix"], samba["base_dn"])
    dns = dict((user["sAMAccountName"], "CN=%s,OU=%s,%s" % (user["sAMAccountName"], user["ou"], root))
               for user in generated["scenario"]["ad"]["users"])

    # Check mode, in chunks and with the cycle in the middle planned: nothing written anywhere.
    graph_lab.lab("DELETE", "/requests")
    before = usn_changed(samba, dns)
    rc, registered, output = run_role(ansible, tmp_path, variables, check=True)
    assert rc == 0, output[-6000:]
    assert registered["plan"]["phases"]["cycle_out"] and len(registered["plan"]["phases"]["stamp"]) > 7
    assert graph_lab.writes() == [] and usn_changed(samba, dns) == before

    rc, registered, output = run_role(ansible, tmp_path, variables)
    assert rc == 0, output[-6000:]
    held = [row["name"] for row in registered["plan"]["links"] if any(
        "during the cycle in the middle" in a["why"] for a in row["actions"])]
    assert held and set(kinds[name] for name in held) <= {"hard", "align", "orphaned", "recycled"}, held
    assert re.search(r"chunk 2/\d+: \d+ item", output), "a phase of more than 7 items went in chunks"
    assert "ASYNC OK" not in task_output(output, "Stamp the AD anchors"), "writes within one quota window: not polled"
    assert "ASYNC OK" in task_output(output, "Run a sync cycle: the one that makes the links"), "a cycle is polled"
    assert_converged(registered["verified"], kinds, pre_created)

    rc, registered, output = run_role(ansible, tmp_path, variables)
    assert rc == 0 and registered["changed"] == 0, output[-6000:]


def test_under_a_fault_storm_the_role_converges_and_lands_every_write_once(samba, graph_lab, ansible, tmp_path, mix):
    """The bench's storm (429 and 503 on a third of the requests and $batch items, connections
    lost before and after the work on a sixth of the HTTP requests): every link converges, and
    no write is carried out twice."""
    generated, kinds, pre_created = mix(30)
    graph_lab.lab("DELETE", "/requests")
    graph_lab.lab("POST", "/faults", json=STORM)
    try:
        # A write window of 5 makes the writes of this plan wait for the quota, as 10,000 links do.
        rc, registered, output = run_role(ansible, tmp_path, role_vars(samba, graph_lab, tmp_path, generated,
                                                                       remediation_graph_write_window=5))
    finally:
        graph_lab.lab("DELETE", "/faults")
    assert rc == 0, output[-6000:]
    assert "ASYNC OK" in task_output(output, "Stamp the AD anchors"), "past one quota window the writes are polled"
    assert_converged(registered["verified"], kinds, pre_created)
    log = graph_lab.requests()
    assert sum(1 for e in log if e["status"] == 429) and sum(1 for e in log if e["status"] == 503), "the storm blew"
    landed = [(e["method"], e["path"]) for e in log if e["method"] in ("PATCH", "DELETE", "POST")
              and 200 <= e["status"] < 300 and "/oauth2/" not in e["path"]
              and not e["path"].endswith(("/$batch", "/start"))]
    assert landed and len(landed) == len(set(landed)), "a write carried out twice"

"""link_plan's rows, phases, counts and reports from a planned world (no I/O but the report files)."""

import calendar
import csv
import json
import os
import stat

from ansible_collections.syncfix.entra.plugins.module_utils._report import link_plan as report
from ansible_collections.syncfix.entra.plugins.module_utils._sync import prediction as sync
from ansible_collections.syncfix.entra.plugins.module_utils._backends.link_plan import (
    CloudFacts, backup_dir_problem, resolve_deleted,
)
from ansible_collections.syncfix.entra.plugins.module_utils._plan.rows import plan_rows, returned, returned_rows

NOW = calendar.timegm((2026, 12, 1, 0, 0, 0))
PARAMS = dict(allow_purge=False, allow_data_loss=False, federated_upn_workaround=False, skip_blocked=False)


def ad(sam, guid):
    return sync.AdUser("CN=%s,OU=Staff,DC=contoso,DC=test" % sam, guid, sam=sam, upn="%s@contoso.com" % sam,
                       mail="%s@contoso.com" % sam, proxy_addresses=["SMTP:%s@contoso.com" % sam])


def cloud(id, upn, **kw):
    kw.setdefault("proxy_addresses", ["SMTP:" + upn])
    return sync.CloudObject(id, upn=upn, mail=upn, mailbox=True, **kw)


VP = ad("vp", "3ab39606-c642-489b-84b6-58c038d3ef39")
ANN = ad("ann", "0b1c3ec4-2d2a-4b5f-9e0e-5ad2e1c3d4f5")
ADMIN_ROLE = {"name": "62e90394-69f5-4237-9190-012177145e10", "template_id": "62e90394-69f5-4237-9190-012177145e10",
              "assignment": "active"}


def facts(*objects, **features):
    world = sync.World(objects, sync.TenantFacts(features, "contoso.onmicrosoft.com", ["contoso.com"], now=NOW))
    found = dict((o.upn, o) for o in objects)
    return CloudFacts(world, found, {"gone@contoso.com": "no active or soft-deleted cloud user has this UPN"}, [])


def links(*pairs):
    return [dict(ad=a, cloud=c, state="linked", method="auto", allow_purge=None, allow_data_loss=None,
                 federated_upn_workaround=None) for a, c in pairs]


def test_a_pre_created_mailbox_is_planned_as_a_hard_match_and_the_phases_hold_module_items():
    result = plan_rows(links(("vp", "vp@contoso.com")), PARAMS, {"vp": VP}, {},
                       facts(cloud("c1", "vp@contoso.com"), blockSoftMatchEnabled=True))
    (row,) = result["links"]
    assert (row["state"], row["method"]) == ("conflict", "hard")
    assert result["phases"]["stamp"] == [{"user": "c1", "immutable_id": VP.anchor, "object_guid": VP.object_guid}]
    assert result["phases"]["cycle"] == [{}] and result["counts"]["conflict"] == 1
    assert row["predicted"]["outcome"] == "hard" and row["predicted"]["target_name"] == "vp@contoso.com"
    assert row["ad"]["anchor"] == VP.anchor and row["cloud"]["immutable_id"] is None


def test_a_blocked_link_empties_the_phases_unless_skip_blocked():
    world = facts(cloud("c1", "vp@contoso.com", roles=[ADMIN_ROLE]), cloud("c2", "ann@contoso.com"),
                  blockSoftMatchEnabled=True)
    declared = links(("vp", "vp@contoso.com"), ("ann", "ann@contoso.com"))
    result = plan_rows(declared, PARAMS, {"vp": VP, "ann": ANN}, {}, world)
    assert [r["state"] for r in result["links"]] == ["blocked", "conflict"]
    assert all(items == [] for items in result["phases"].values()) and result["counts"]["actions"] == 0
    assert result["blocked"][0]["name"] == "vp" and "vp:" in result["blocked"][0]["summary"]
    skipped = plan_rows(declared, dict(PARAMS, skip_blocked=True), {"vp": VP, "ann": ANN}, {}, world)
    assert [i["user"] for i in skipped["phases"]["stamp"]] == ["c2"]


def test_unknown_selectors_are_blocked_links_naming_the_selector():
    result = plan_rows(links(("nobody", None), ("vp", "gone@contoso.com")), PARAMS, {"vp": VP},
                       {"nobody": "no AD user has this name"}, facts())
    first, second = result["links"]
    assert first["blockers"][0]["rule"] == "unknown-ad-user" and "nobody" in first["blockers"][0]["reason"]
    assert second["blockers"][0]["rule"] == "unknown-cloud-user" and "gone@contoso.com" in second["blockers"][0]["reason"]
    assert result["counts"]["blocked"] == 2


def test_two_links_to_one_cloud_user_are_both_blocked():
    result = plan_rows(links(("vp", "vp@contoso.com"), ("ann", "vp@contoso.com")), PARAMS, {"vp": VP, "ann": ANN},
                       {}, facts(cloud("c1", "vp@contoso.com")))
    assert [r["state"] for r in result["links"]] == ["blocked", "blocked"]
    assert {r["blockers"][0]["rule"] for r in result["links"]} == {"duplicate-link"}


def test_the_reports_are_written_0600_and_readable(tmp_path):
    result = plan_rows(links(("vp", "vp@contoso.com")), PARAMS, {"vp": VP}, {},
                       facts(cloud("c1", "vp@contoso.com"), blockSoftMatchEnabled=True))
    written = report.write_reports(str(tmp_path / "out" / "plan"), result["links"], result["counts"])
    for path in written.values():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    rows = list(csv.DictReader(open(written["csv"])))
    assert rows[0]["link"] == "vp" and rows[0]["method"] == "hard" and rows[0]["state"] == "conflict"
    assert json.load(open(written["json"]))["counts"]["conflict"] == 1
    markdown = open(written["md"]).read()
    assert "| vp |" in markdown and "`syncfix.entra.entra_immutable_id` stamp" in markdown


def test_the_table_names_each_link_its_blockers_and_the_counts():
    result = plan_rows(links(("vp", "vp@contoso.com")), PARAMS, {"vp": VP}, {},
                       facts(cloud("c1", "vp@contoso.com", roles=[ADMIN_ROLE]), blockSoftMatchEnabled=True))
    text = report.table(result["links"], result["counts"])
    lines = text.splitlines()
    assert lines[0].split() == ["link", "cloud", "user", "state", "method", "next", "sync", "after", "the", "plan"]
    assert lines[1].startswith("vp ") and "blocked" in lines[1]
    assert any(line.startswith("vp: blocked by ") and "Way out:" in line for line in lines)
    assert lines[-1].startswith("0 actions, 1 blocked")


def test_the_table_lists_each_links_actions_in_order():
    result = plan_rows(links(("vp", "vp@contoso.com")), PARAMS, {"vp": VP}, {},
                       facts(cloud("c1", "vp@contoso.com"), blockSoftMatchEnabled=True))
    lines = report.table(result["links"], result["counts"]).splitlines()
    steps = [line for line in lines if line.startswith("vp: ")]
    assert [line.split(". ", 1)[0] for line in steps] == ["vp: %d" % n for n in range(1, len(steps) + 1)]
    assert len(steps) == len(result["links"][0]["actions"]) and steps[0].startswith("vp: 1. hard match: ")


def test_return_links_keeps_all_the_changes_or_none_of_the_rows():
    linked = cloud("c2", "ann@contoso.com", sync_enabled=True, immutable_id=ANN.anchor, object_identifier=ANN.object_guid)
    result = plan_rows(links(("vp", "vp@contoso.com"), ("ann", "ann@contoso.com")), PARAMS, {"vp": VP, "ann": ANN}, {},
                       facts(cloud("c1", "vp@contoso.com"), linked, blockSoftMatchEnabled=True))
    rows = result["links"]
    assert [r["state"] for r in rows] == ["conflict", "linked"]
    assert returned_rows(rows, "all") is rows
    assert [r["name"] for r in returned_rows(rows, "changes")] == ["vp"]
    assert returned_rows(rows, "none") == []


def test_a_table_of_some_links_says_how_many_are_left_out_and_where_they_are():
    result = plan_rows(links(("vp", "vp@contoso.com")), PARAMS, {"vp": VP}, {},
                       facts(cloud("c1", "vp@contoso.com"), blockSoftMatchEnabled=True))
    lines = report.table([], result["counts"], left_out=1, report="/var/tmp/plan").splitlines()
    assert lines[-2] == "1 more link(s) not shown (return_links); every link is in the reports at /var/tmp/plan (.json, .csv, .md)"
    assert "set report_path" in report.table([], result["counts"], left_out=1).splitlines()[-2]
    assert lines[-1] == report.table(result["links"], result["counts"]).splitlines()[-1]


def test_the_reports_as_strings_are_what_the_files_hold(tmp_path):
    result = plan_rows(links(("vp", "vp@contoso.com")), PARAMS, {"vp": VP}, {},
                       facts(cloud("c1", "vp@contoso.com"), blockSoftMatchEnabled=True))
    written = report.write_reports(str(tmp_path / "plan.json"), result["links"], result["counts"])
    assert written["json"] == str(tmp_path / "plan.json")
    assert open(written["csv"]).read() == report.to_csv(result["links"])
    assert open(written["md"]).read() == report.to_markdown(result["links"], result["counts"])
    assert json.load(open(written["json"])) == {"counts": result["counts"], "links": result["links"]}


def test_rows_left_out_of_the_result_skip_the_facts_but_not_the_phases():
    ann = cloud("c2", "ann@contoso.com", sync_enabled=True, immutable_id=ANN.anchor, object_identifier=ANN.object_guid)
    world = facts(cloud("c1", "vp@contoso.com"), ann, blockSoftMatchEnabled=True)
    declared = links(("vp", "vp@contoso.com"), ("ann", "ann@contoso.com"))
    full = plan_rows(declared, PARAMS, {"vp": VP, "ann": ANN}, {}, world)
    lean = plan_rows(declared, PARAMS, {"vp": VP, "ann": ANN}, {}, world, detailed=lambda row: returned(row, "changes"))
    assert (lean["phases"], lean["counts"], lean["blocked"]) == (full["phases"], full["counts"], full["blocked"])
    vp, ann = lean["links"]
    assert vp == full["links"][0], "a row the result carries has every fact"
    assert "ad" not in ann and "predicted" not in ann and (ann["name"], ann["state"]) == ("ann", "linked")


# -- issue 26 ------------------------------------------------------------------------------------

STRAY = "RDHiRneDPkiofrZ2nbYu7Q=="


def test_each_stamp_carries_its_own_links_opt_ins_and_there_are_no_phase_options():
    declared = links(("vp", "vp@contoso.com"), ("ann", "ann@contoso.com"))
    declared[0].update(force=True, method="hard")
    world = facts(cloud("c1", "vp@contoso.com", immutable_id=STRAY), cloud("c2", "ann@contoso.com"),
                  blockSoftMatchEnabled=True)
    result = plan_rows(declared, PARAMS, {"vp": VP, "ann": ANN}, {}, world)
    assert "phase_options" not in result
    assert result["phases"]["stamp"] == [
        {"user": "c1", "immutable_id": VP.anchor, "object_guid": VP.object_guid, "force": True},
        {"user": "c2", "immutable_id": ANN.anchor, "object_guid": ANN.object_guid}]
    assert all(set(made) == {"phase", "module", "item", "why"} for row in result["links"] for made in row["actions"])
    # without its own force, the stray anchor blocks vp's link; ann's opt-ins are ann's alone
    declared[0]["force"], declared[1]["force"] = None, True
    blocked = plan_rows(declared, dict(PARAMS, skip_blocked=True), {"vp": VP, "ann": ANN}, {}, world)
    assert [r["state"] for r in blocked["links"]] == ["blocked", "conflict"]
    assert blocked["links"][0]["blockers"][0]["rule"] == "force"
    assert blocked["phases"]["stamp"] == [{"user": "c2", "immutable_id": ANN.anchor, "object_guid": ANN.object_guid}]


def test_run_wide_allow_purge_and_allow_data_loss_never_reach_an_undeclared_link():
    licensed = cloud("c1", "vp@contoso.com", immutable_id="b3BhcXVlLWFuY2hvcg==", licenses=["ENTERPRISEPACK"])
    world = facts(licensed, blockCloudObjectTakeoverThroughHardMatchEnabled=True)
    result = plan_rows(links(("vp", None)), dict(PARAMS, allow_purge=True, allow_data_loss=True, skip_blocked=True),
                       {"vp": VP}, {}, world)
    (row,) = result["links"]
    assert row["state"] == "blocked" and row["actions"] == []
    assert all(items == [] for items in result["phases"].values())


def test_an_unconfirmed_proposal_is_blocked_until_accepted():
    proposed = links(("vp", "vp@contoso.com"))
    proposed[0]["proposal"] = {"confidence": "high", "evidence": ["primary SMTP address"], "confirmed": False}
    world = facts(cloud("c1", "vp@contoso.com"), blockSoftMatchEnabled=True)
    refused = plan_rows(proposed, PARAMS, {"vp": VP}, {}, world)
    assert refused["links"][0]["blockers"][0]["rule"] == "unconfirmed-proposal"
    accepted = plan_rows(proposed, dict(PARAMS, accept_proposals=True), {"vp": VP}, {}, world)
    assert accepted["links"][0]["state"] == "conflict" and accepted["phases"]["stamp"]


def test_a_cloud_selector_naming_only_a_soft_deleted_user_by_upn_is_blocked_by_object_id_it_is_declared():
    gone = sync.CloudObject("4a3c5b1e-9e0e-4b5f-9e0e-5ad2e1c3d4f5", upn="4a3c5b1e9e0e4b5f9e0e5ad2e1c3d4f5vp@contoso.com",
                            deleted=True)
    world = sync.World([gone])
    record = {"id": gone.id, "userPrincipalName": gone.upn}
    found, problems, refused = {}, {}, {}
    resolve_deleted("vp@contoso.com", [record], world, found, problems, refused)
    assert found == {} and refused["vp@contoso.com"]["rule"] == "soft-deleted-by-name"
    assert refused["vp@contoso.com"]["way_out"] == "name it by object id to restore it on purpose: cloud: %s" % gone.id
    resolve_deleted(gone.id.upper(), [record], world, found, problems, refused)
    assert found == {gone.id.upper(): gone}
    # as a row: the link is blocked with that rule
    cloud_facts = CloudFacts(world, {}, {}, [], refused)
    result = plan_rows(links(("vp", "vp@contoso.com")), PARAMS, {"vp": VP}, {}, cloud_facts)
    assert result["links"][0]["state"] == "blocked"
    assert result["links"][0]["blockers"][0]["rule"] == "soft-deleted-by-name"


def test_purges_need_a_private_backup_dir_before_any_plan_is_returned(tmp_path):
    disposable = sync.CloudObject("c1", upn="vp@contoso.com")
    declared = links(("vp", "vp@contoso.com"))
    declared[0].update(method="recreate", allow_purge=True)
    result = plan_rows(declared, PARAMS, {"vp": VP}, {}, facts(disposable, softMatchOnUpnEnabled=False))
    assert result["phases"]["purge"] == [{"user": "c1", "state": "purged"}]
    assert "backup_dir is not set" in backup_dir_problem(result, None)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    problem = backup_dir_problem(result, str(shared))
    assert str(shared) in problem and "written by others" in problem
    assert "purges need a private folder for their records (backup_dir)" in problem
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    assert backup_dir_problem(result, str(private)) is None
    nothing = plan_rows(links(("vp", "vp@contoso.com")), PARAMS, {"vp": VP}, {},
                        facts(cloud("c1", "vp@contoso.com"), blockSoftMatchEnabled=True))
    assert backup_dir_problem(nothing, None) is None, "no purge, no folder needed"

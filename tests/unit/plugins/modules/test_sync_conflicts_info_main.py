"""sync_conflicts_info's main() offline: the AD side from a fake directory, through the shared
module base, the scan engine and the reports."""

import json
import uuid

from ansible_collections.syncfix.entra.plugins.module_utils._scan.findings import finding
from ansible_collections.syncfix.entra.plugins.module_utils._backends.sync_conflicts_info import Tally
from ansible_collections.syncfix.entra.plugins.modules import sync_conflicts_info

from module_runner import FakeAD, ad_user, run_module

CONNECTION = dict(server=["dc1.contoso.test"], bind_dn="svc@contoso.test", bind_password="secret", sides=["ad"])


def directory():
    """Two users share an alias; a third has a .local UPN; one is a system mailbox IdFix skips."""
    return FakeAD(
        ad_user("ann", uuid.uuid4(), cn=["ann"], userPrincipalName=["ann@contoso.com"], mail=["ann@contoso.com"],
                proxyAddresses=["SMTP:ann@contoso.com", "smtp:team@contoso.com"]),
        ad_user("bob", uuid.uuid4(), cn=["bob"], userPrincipalName=["bob@contoso.com"], mail=["bob@contoso.com"],
                proxyAddresses=["SMTP:bob@contoso.com", "smtp:team@contoso.com"]),
        ad_user("tom", uuid.uuid4(), cn=["tom"], userPrincipalName=["tom@contoso.local"], mail=["tom@contoso.com"],
                proxyAddresses=["SMTP:tom@contoso.com"]),
        ad_user("SystemMailbox{1}", uuid.uuid4(), cn=["SystemMailbox{1}"], mail=["team@contoso.com"]))


def test_the_ad_side_finds_the_duplicate_and_the_local_upn_the_same_in_check_mode(tmp_path):
    ad = directory()
    result = run_module(sync_conflicts_info.main, dict(CONNECTION, report_path=str(tmp_path / "r")), ad=ad)
    checked = run_module(sync_conflicts_info.main, dict(CONNECTION), ad=ad, check_mode=True)
    assert result["changed"] is False and ad.modifies == []
    assert result["counts"]["by_rule"] == checked["counts"]["by_rule"]
    assert result["counts"]["by_rule"]["duplicate_address"] == 2
    assert "idfix_topleveldomain" in result["counts"]["by_rule"]
    assert result["counts"]["ad"]["objects"] == 3 and result["counts"]["ad"]["excluded"] == 1
    assert result["sides"] == ["ad"] and result["msg"].startswith("%d findings" % result["counts"]["findings"])
    with open(result["report"]["json"], encoding="utf-8") as report:
        assert json.load(report)["total"] == result["counts"]["findings"]


def test_max_findings_caps_the_list_not_the_counts_and_fail_on_gates_the_task():
    capped = run_module(sync_conflicts_info.main, dict(CONNECTION, max_findings=1), ad=directory())
    assert len(capped["findings"]) == 1 and capped["counts"]["findings"] >= 3 and not capped.get("failed")
    gated = run_module(sync_conflicts_info.main, dict(CONNECTION, fail_on="error"), ad=directory())
    assert gated["failed"] is True and gated["error"]["kind"] == "findings" and "fail_on is error" in gated["msg"]
    assert gated["counts"]["by_severity"]["error"] >= 2
    info_only = run_module(sync_conflicts_info.main, dict(CONNECTION, fail_on="error", exclusions=["ann", "bob", "tom"]),
                           ad=directory())
    assert not info_only.get("failed") and info_only["counts"]["findings"] == 0


def test_sides_default_to_ad_and_the_cloud_only_with_a_graph_credential():
    assert sync_conflicts_info.chosen_sides({"sides": None, "tenant_id": None, "access_token": None}) == ["ad"]
    assert sync_conflicts_info.chosen_sides({"sides": None, "tenant_id": "t", "access_token": None}) == ["ad", "cloud"]
    assert sync_conflicts_info.chosen_sides({"sides": ["cloud", "cloud"], "tenant_id": None}) == ["cloud"]


def test_the_tally_counts_everything_keeps_the_first_and_proposes_each_link_once():
    tally = Tally(keep=2)
    link = {"ad": "vp", "cloud": "vp@contoso.com"}
    stream = [finding("preprovisioned_cloud_user", "warning", "cloud", "c%d" % n, "mail", "vp@contoso.com", "m",
                      link=dict(link, cloud=link["cloud"].upper() if n else link["cloud"])) for n in range(3)]
    assert list(tally.count(iter(stream))) == stream
    assert tally.total == 3 and len(tally.kept) == 2 and tally.links == [link]
    assert tally.counts() == {"findings": 3, "by_severity": {"error": 0, "warning": 3, "info": 0},
                              "by_rule": {"preprovisioned_cloud_user": 3}}


class FakeGraph:
    """A tenant as the scan's list reads see it: every collection read whole, no role holder."""

    def __init__(self, users=(), deleted=(), features=None):
        self.collections = {"/users": list(users), "/directory/deletedItems/microsoft.graph.user": list(deleted),
                            "/domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": "contoso.com"}]}
        self.features = features or {}
        self.stats = {"requests": 0}

    def iterate(self, path, params=None, **context):
        self.stats["requests"] += 1
        return iter(list(self.collections.get(path, [])))

    def get(self, path, params=None, **context):
        self.stats["requests"] += 1
        assert path == "/directory/onPremisesSynchronization", path
        return {"value": [{"features": self.features}]}


def test_main_returns_each_proposal_by_dn_and_object_id_unconfirmed_and_never_a_soft_deleted_holder():
    """Issue 26, finding 2: the result's remediation_links are proposals with their confidence and
    evidence, confirmed false; an alias-only holder and a recycle-bin holder are findings without one."""
    ad = FakeAD(
        ad_user("vp", uuid.uuid4(), cn=["vp"], userPrincipalName=["vp@contoso.com"], mail=["vp@contoso.com"],
                displayName=["Vera Price"], proxyAddresses=["SMTP:vp@contoso.com"]),
        ad_user("ann", uuid.uuid4(), cn=["ann"], userPrincipalName=["ann@contoso.com"], mail=["ann@contoso.com"],
                proxyAddresses=["SMTP:ann@contoso.com"]),
        ad_user("jdoe", uuid.uuid4(), cn=["jdoe"], userPrincipalName=["jdoe@contoso.com"], mail=["jdoe@contoso.com"],
                proxyAddresses=["SMTP:jdoe@contoso.com"]))
    graph = FakeGraph(
        users=[{"id": "vp-id", "userPrincipalName": "vp@contoso.com", "displayName": "Vera Price", "mail": "vp@contoso.com",
                "proxyAddresses": ["SMTP:vp@contoso.com"]},
               {"id": "vera-id", "userPrincipalName": "vera@contoso.com", "displayName": "Vera (cloud)",
                "mail": "vera@contoso.com", "proxyAddresses": ["SMTP:vera@contoso.com", "smtp:ann@contoso.com"]}],
        deleted=[{"id": "gone-id", "userPrincipalName": "jdoe@contoso.com", "mail": "jdoe@contoso.com",
                  "proxyAddresses": ["SMTP:jdoe@contoso.com"]}],
        features={"blockSoftMatchEnabled": True})
    result = run_module(sync_conflicts_info.main, dict(CONNECTION, sides=["ad", "cloud"]), ad=ad, graph=graph)
    assert not result.get("failed"), result
    vp_dn = "CN=vp,OU=Staff,DC=contoso,DC=test"
    assert result["remediation_links"] == [{"ad": vp_dn, "cloud": "vp-id", "proposal": {
        "confidence": "high", "confirmed": False, "evidence": [
            "primary SMTP address vp@contoso.com is the cloud user's primary SMTP address",
            "userPrincipalName vp@contoso.com is the cloud user's userPrincipalName",
            "displayName 'vera price' is the cloud user's displayName"]}}]
    by_object = dict((f["object"], f) for f in result["findings"] if f["side"] == "cloud" and f["rule"] != "sync_feature")
    assert by_object["vera-id"]["rule"] == "preprovisioned_cloud_user" and by_object["vera-id"]["link"] is None
    assert by_object["gone-id"]["rule"] == "recycle_bin_holder" and by_object["gone-id"]["link"] is None
    assert "restore it on purpose by declaring it by its object id" in by_object["gone-id"]["message"]
    assert by_object["vp-id"]["link"] == result["remediation_links"][0]


def test_a_report_folder_others_may_write_is_refused_before_the_scan_reads(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    ad = directory()
    result = run_module(sync_conflicts_info.main, dict(CONNECTION, report_path=str(shared)), ad=ad)
    assert result["failed"] is True and "report_path" in result["msg"] and "written by others" in result["msg"]
    assert ad.stats["searches"] == 0 and list(shared.iterdir()) == []

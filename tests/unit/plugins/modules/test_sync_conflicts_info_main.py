"""sync_conflicts_info's main() offline: the AD side from a fake directory, through the shared
module base, the scan engine and the reports."""

import json
import uuid

from ansible_collections.syncfix.entra.plugins.module_utils._scan_findings import finding
from ansible_collections.syncfix.entra.plugins.module_utils._scan_run import Tally
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

"""syncfix.entra.entra_user_info against the Graph emulator: what a playbook needs to decide a
match, read in bulk and without writing."""

import pytest

import entra_tenant as t

MODULE = "syncfix.entra.entra_user_info"


@pytest.fixture
def graph(graph_lab):
    graph_lab.load(t.tenant())
    return graph_lab


def test_reads_sync_state_roles_licenses_and_recycle_bin(graph, playbook):
    selectors = ["vp@contoso.com", "synced@contoso.com", "admin@contoso.com", "eligible@contoso.com",
                 "gone@contoso.com", "nobody@contoso.com"]
    rc, (result,) = playbook([{MODULE: dict(graph.auth, users=selectors, lookup_failure_action="ignore")}], check=True)
    assert rc == 0 and result["changed"] is False, result
    users = {u["item"]: u for u in result["users"]}
    assert [u["item"] for u in result["users"]] == selectors

    assert users["vp@contoso.com"]["licenses"] == ["SPE_E3"]
    assert users["vp@contoso.com"]["sync"]["enabled"] is False
    assert "SMTP:vp@contoso.com" in users["vp@contoso.com"]["proxy_addresses"]

    synced = users["synced@contoso.com"]
    assert synced["sync"]["enabled"] is True and synced["sync"]["immutable_id"] == t.SYNCED
    assert synced["sync"]["anchor"]["guid"] == "0d9f3a52-0000-4000-8000-00000000a003"
    assert synced["provisioning_errors"][0]["propertyCausingError"] == "ProxyAddress"

    assert users["admin@contoso.com"]["roles"]["active"] == [
        {"id": "62e90394-69f5-4237-9190-012177145e10", "displayName": "Global Administrator"}]
    assert users["eligible@contoso.com"]["roles"]["eligible"] == [
        {"id": "fe930be7-5e62-47db-91af-98c3a49a38b1", "displayName": "User Administrator"}]
    names_read = [e for e in graph.requests() if "/roleDefinitions" in e["path"]]
    assert len(names_read) == 1, "role names are read in one list, not per role"

    gone = users["gone@contoso.com"]
    assert gone["found"] is True and gone["deleted"] is True and gone["deleted_date_time"][:10] == t.days_ago(7)[:10]
    assert users["nobody@contoso.com"]["found"] is False
    assert graph.writes() == []


def test_reads_in_bulk(graph, playbook):
    graph.load(t.many_users(300))
    selectors = ["bulk%05d@contoso.com" % n for n in range(300)]
    rc, (result,) = playbook([{MODULE: dict(graph.auth, users=selectors, details=[])}])
    assert rc == 0, result
    assert all(u["found"] for u in result["users"])
    graph_calls = [e for e in graph.requests() if not e["path"].endswith("/token") and not e.get("batch_item")]
    # 300 lookups fit in a handful of requests, not 300.
    assert len(graph_calls) <= 30, len(graph_calls)


def test_an_unknown_selector_fails_the_task_unless_told_otherwise(graph, playbook):
    task = {MODULE: dict(graph.auth, users=["vp@contoso.com", "nobody@contoso.com"], details=[])}
    rc, (failed,) = playbook([task])
    assert failed["failed"] is True, failed
    assert "nobody@contoso.com: matches no active or soft-deleted user" in failed["msg"]
    assert failed["error"]["selectors"] == ["nobody@contoso.com"]

    rc, (warned,) = playbook([{MODULE: dict(task[MODULE], lookup_failure_action="warn")}])
    assert rc == 0 and [u["found"] for u in warned["users"]] == [True, False], warned
    assert any("nobody@contoso.com" in w for w in warned.get("warnings", [])), warned

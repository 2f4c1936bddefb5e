"""syncfix.entra.entra_user_purge through ansible-playbook against the Graph emulator: the
recycle bin as Entra keeps it, refusals before any write, and the record of what was removed
(in backup_dir only; the output carries its path and a summary)."""

import json
import os

import pytest

import entra_tenant as t

MODULE = "syncfix.entra.entra_user_purge"


@pytest.fixture
def graph(graph_lab):
    graph_lab.load(t.tenant())
    return graph_lab


@pytest.fixture(autouse=True)
def backups(tmp_path):
    global BACKUP_DIR
    BACKUP_DIR = str(tmp_path / "backups")
    return BACKUP_DIR


BACKUP_DIR = None  # this test's backup_dir (fixture ``backups``)


def named(*selectors):
    """users[] items naming each selector, the state left to the task."""
    return [dict(user=selector) for selector in selectors]


def purge(graph, **args):
    """The task; a state that removes users writes its records to this test's backup_dir."""
    if args.get("state") in ("deleted", "purged"):
        args.setdefault("backup_dir", BACKUP_DIR)
    return {MODULE: dict(graph.auth, **args)}


def deleted(graph):
    return {u["userPrincipalName"]: u for u in graph.lab("GET", "/state")["users"] if u.get("deletedDateTime")}


def test_soft_delete_in_check_mode_then_for_real_then_again(graph, playbook):
    task = purge(graph, user="plain@contoso.com", state="deleted")
    rc, (planned,) = playbook([task], check=True, diff=True)
    assert planned["changed"] is True, planned
    assert planned["diff"] == {"before": {"plain@contoso.com": {"state": "active"}},
                               "after": {"plain@contoso.com": {"state": "deleted"}}}
    assert planned["results"][0]["record_summary"]["userPrincipalName"] == "plain@contoso.com"
    assert graph.writes() == [] and not os.path.exists(BACKUP_DIR), "check mode writes no backup"

    rc, (done,) = playbook([task])
    assert rc == 0 and done["changed"] is True, done
    (item,) = done["results"]
    assert item["record_summary"]["userPrincipalName"] == "plain@contoso.com" and "record" not in item
    assert json.loads(open(item["backup_file"]).read())["user"]["userPrincipalName"] == "plain@contoso.com"
    assert oct(os.stat(item["backup_file"]).st_mode & 0o777) == "0o600"
    assert "plain@contoso.com" in deleted(graph)

    rc, (again,) = playbook([task])
    assert again["changed"] is False and again["results"][0]["msg"] == "already in the recycle bin", again


def test_recycle_bin_holder_of_an_address_is_found_and_purged_with_a_backup(graph, playbook, tmp_path):
    # gone@ has a mailbox: its soft-deleted mailbox keeps gone@contoso.com reserved until purged.
    backup = tmp_path / "removed"
    task = purge(graph, user="gone@contoso.com", state="purged", backup_dir=str(backup))
    rc, (refused,) = playbook([task])
    assert refused["failed"] is True
    assert "it has a mailbox (mail gone@contoso.com); purging destroys the mailbox" in refused["results"][0]["msg"]
    assert "allow_data_loss: true" in refused["results"][0]["msg"]
    assert graph.writes() == [] and not backup.exists()

    rc, (done,) = playbook([dict(task, **{MODULE: dict(task[MODULE], allow_data_loss=True)})])
    assert rc == 0 and done["changed"] is True, done
    (item,) = done["results"]
    assert (item["before"], item["after"]) == ("deleted", "gone")
    assert [(w["method"], w["path"]) for w in graph.applied_writes()] == [
        ("DELETE", "/directory/deletedItems/%s" % item["id"])]
    saved = json.loads(open(item["backup_file"]).read())
    assert saved["user"]["mail"] == "gone@contoso.com" and saved["location"] == "deleted"
    assert "gone@contoso.com" not in deleted(graph)

    rc, (again,) = playbook([task])
    assert again["changed"] is False, again


@pytest.mark.parametrize("upn,reason", [
    ("synced@contoso.com", "is synced from on-premises (onPremisesSyncEnabled=true) and cannot be deleted in the cloud"),
    ("admin@contoso.com",
     "it holds or is eligible for directory roles Global Administrator (62e90394-69f5-4237-9190-012177145e10)"),
    ("eligible@contoso.com",
     "it holds or is eligible for directory roles User Administrator (fe930be7-5e62-47db-91af-98c3a49a38b1)"),
    ("vp@contoso.com", "it has licenses SPE_E3"),
])
def test_data_loss_is_refused_without_opt_in(graph, playbook, upn, reason):
    rc, (result,) = playbook([purge(graph, user=upn, state="purged")])
    assert result["failed"] is True, result
    assert reason in result["results"][0]["msg"], result["results"][0]["msg"]
    assert graph.writes() == []


def test_restore_with_a_new_upn(graph, playbook):
    # Somebody took binned@'s UPN after it was deleted; restoring needs another one.
    graph.lab("PUT", "/state", json=dict(t.tenant(), users=t.tenant()["users"] + [t.user("binned@contoso.com", id="0b0b0b0b-0000-4000-8000-000000000001")]))
    binned = deleted(graph)["binned@contoso.com"]["id"]
    rc, (clash,) = playbook([purge(graph, user=binned, state="restored")])
    assert clash["failed"] is True
    assert "userPrincipalName" in clash["results"][0]["msg"], clash
    assert clash["results"][0]["after"] == "deleted"

    rc, (done,) = playbook([purge(graph, user=binned, state="restored",
                                  new_user_principal_name="binned.restored@contoso.com")])
    assert rc == 0 and done["changed"] is True, done
    active = {u["userPrincipalName"] for u in graph.lab("GET", "/state")["users"] if not u.get("deletedDateTime")}
    assert "binned.restored@contoso.com" in active


def test_one_task_purges_one_user_and_restores_another_each_by_its_own_state(graph, playbook):
    # The shape link_plan's phases.purge and phases.restore take: dicts with user and state.
    graph.lab("PUT", "/state", json=dict(t.tenant(), users=t.tenant()["users"] + [t.user("binned@contoso.com", id="0b0b0b0b-0000-4000-8000-000000000001")]))
    binned = deleted(graph)["binned@contoso.com"]["id"]
    task = {MODULE: dict(graph.auth, backup_dir=BACKUP_DIR, users=[
        {"user": "plain@contoso.com", "state": "purged"},
        {"user": binned, "state": "restored", "new_user_principal_name": "binned.back@contoso.com"}])}
    rc, (planned,) = playbook([task], check=True)
    assert planned["changed"] is True and graph.writes() == [], planned
    assert [(r["before"], r["after"]) for r in planned["results"]] == [("active", "gone"), ("deleted", "active")]

    rc, (done,) = playbook([task])
    assert rc == 0 and done["changed"] is True, done
    users = {u["userPrincipalName"]: u for u in graph.lab("GET", "/state")["users"]}
    assert "plain@contoso.com" not in users and not users["binned.back@contoso.com"].get("deletedDateTime")
    assert "backup_file" in done["results"][0] and "backup_file" not in done["results"][1]

    rc, (again,) = playbook([task])
    assert again["changed"] is False, again


def test_a_list_reports_each_item(graph, playbook):
    rc, (result,) = playbook([purge(graph, users=named("plain@contoso.com", "binned@contoso.com", "never@contoso.com"),
                                    state="purged", lookup_failure_action="ignore")])
    assert rc == 0, result
    by_item = {r["item"]: r for r in result["results"]}
    assert (by_item["plain@contoso.com"]["before"], by_item["plain@contoso.com"]["after"]) == ("active", "gone")
    assert (by_item["binned@contoso.com"]["before"], by_item["binned@contoso.com"]["after"]) == ("deleted", "gone")
    assert by_item["never@contoso.com"]["changed"] is False
    state = {u["userPrincipalName"] for u in graph.lab("GET", "/state")["users"]}
    assert not state & {"plain@contoso.com", "binned@contoso.com"}


def test_the_record_holds_every_membership_past_graphs_first_page(graph_lab, playbook):
    # memberOf answers 100 items a page; a batched read must follow @odata.nextLink too.
    tenant = t.tenant()
    tenant["groups"] += [{"displayName": "Team %03d" % n, "members": ["plain@contoso.com"]} for n in range(130)]
    graph_lab.load(tenant)
    rc, (done,) = playbook([purge(graph_lab, user="plain@contoso.com", state="deleted")])
    assert rc == 0 and done["changed"] is True, done
    memberships = json.loads(open(done["results"][0]["backup_file"]).read())["memberOf"]
    assert done["results"][0]["record_summary"]["groups"] == 130
    assert sorted(m["displayName"] for m in memberships) == ["Team %03d" % n for n in range(130)]
    pages = [r for r in graph_lab.requests() if "/memberOf" in r["path"]]
    assert any("skiptoken" in r["query"].lower() for r in pages), "the second page was read"


def test_delete_and_purge_in_one_run_waits_for_an_eventually_consistent_recycle_bin(graph_lab, playbook):
    # The recycle bin shows a deleted user only 2 s later: the purge meets 404s, then lands.
    graph_lab.load(t.tenant(), recycle_bin_lag_s=2)
    rc, (done,) = playbook([purge(graph_lab, user="plain@contoso.com", state="purged")])
    assert rc == 0 and done["changed"] is True, done
    assert (done["results"][0]["before"], done["results"][0]["after"]) == ("active", "gone")
    purges = [r["status"] for r in graph_lab.requests() if r["method"] == "DELETE" and "deletedItems" in r["path"]]
    assert purges[0] == 404 and purges[-1] == 204, purges
    assert "plain@contoso.com" not in deleted(graph_lab) and "plain@contoso.com" not in graph_lab.users()


def test_a_role_holder_is_not_removed_with_allow_data_loss_alone(graph, playbook):
    rc, (refused,) = playbook([purge(graph, user="admin@contoso.com", state="purged", allow_data_loss=True)])
    assert refused["failed"] is True and "allow_role_holder_removal: true" in refused["results"][0]["msg"]
    assert graph.writes() == []


def test_a_delete_whose_answer_is_lost_is_read_back_not_sent_again(graph, playbook):
    rc, (planned,) = playbook([purge(graph, user="plain@contoso.com", state="purged")], check=True)
    reads = len([r for r in graph.requests() if r["path"] == "/$batch"])
    # The first write envelope (the soft-delete) is carried out, and its answer lost.
    graph.lab("POST", "/faults", json={"status": "drop_after", "count": 1, "method": "POST", "path": "^/\\$batch$",
                                       "skip": reads})
    rc, (done,) = playbook([purge(graph, user="plain@contoso.com", state="purged")])
    assert rc == 0 and done["changed"] is True and done["results"][0]["after"] == "gone", done
    deletes = [w["path"] for w in graph.writes() if w["method"] == "DELETE"]
    assert len(deletes) == 2 and deletes[0].startswith("/users/") and deletes[1].startswith("/directory/deletedItems/")
    assert any(r["method"] == "GET" and r["path"] == deletes[0] for r in graph.requests()), "read back, not sent again"
    assert "plain@contoso.com" not in deleted(graph)


def test_backup_dir_is_required_to_delete_or_purge(graph, playbook):
    rc, (result,) = playbook([{MODULE: dict(graph.auth, user="plain@contoso.com", state="purged")}])
    assert result["failed"] is True and "backup_dir is required to delete or purge users" in result["msg"], result
    assert "plain@contoso.com (state is purged)" in result["msg"]
    assert graph.writes() == []


def test_a_selector_naming_nothing_fails_unless_told_and_a_purged_user_is_known_by_its_record(graph, playbook):
    rc, (typo,) = playbook([purge(graph, users=named("plain@contoso.com", "plian@contoso.com"), state="purged")])
    assert typo["failed"] is True and graph.writes() == [], typo
    assert "plian@contoso.com: matches no active or soft-deleted user" in typo["msg"]
    assert "lookup_failure_action: warn" in typo["msg"]

    rc, (warned,) = playbook([purge(graph, users=named("plain@contoso.com", "plian@contoso.com"), state="purged",
                                    lookup_failure_action="warn")])
    assert rc == 0 and warned["changed"] is True, warned
    assert any("plian@contoso.com" in w for w in warned.get("warnings", [])), warned
    backup_file = warned["results"][0]["backup_file"]

    # plain@ is gone now: its record in backup_dir says it was purged, by UPN or proxy address alike.
    rc, (again,) = playbook([purge(graph, user="plain@contoso.com", state="purged")])
    assert rc == 0 and again["changed"] is False, again
    assert again["results"][0]["msg"] == "already purged (record %s)" % backup_file


def test_an_items_opt_in_unlocks_that_item_alone(graph, playbook):
    # Issue 26, finding 5: vp@ (licensed) and gone@ (a mailbox) both lose data; only vp@ opts in.
    # One run: vp@ is purged, gone@ is refused, and the results say which.
    items = [{"user": "vp@contoso.com", "allow_data_loss": True}, {"user": "gone@contoso.com"}]
    rc, (mixed,) = playbook([purge(graph, users=items, state="purged")])
    vp, gone = mixed["results"]
    assert mixed["failed"] is True and mixed["changed"] is True, mixed
    assert gone["failed"] is True and gone["error"]["kind"] == "refused" and gone["after"] == "deleted", gone
    assert "allow_data_loss: true on this item" in gone["msg"], gone
    assert not vp.get("failed") and (vp["before"], vp["after"]) == ("active", "gone"), vp
    assert [(w["method"], w["path"]) for w in graph.applied_writes()] == [
        ("DELETE", "/users/%s" % vp["id"]), ("DELETE", "/directory/deletedItems/%s" % vp["id"])]
    assert os.listdir(BACKUP_DIR) == [os.path.basename(vp["backup_file"])], "no record of the refused user"
    assert "vp@contoso.com" not in graph.users() and "gone@contoso.com" in deleted(graph)


def test_a_backup_dir_others_can_write_is_refused_before_any_graph_request(graph, playbook, tmp_path):
    # Issue 26, finding 7.
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    before = len(graph.requests())
    rc, (result,) = playbook([purge(graph, user="plain@contoso.com", state="purged", backup_dir=str(shared))])
    assert result["failed"] is True and "can be written by others" in result["msg"], result
    assert len(graph.requests()) == before and os.listdir(shared) == []

"""entra_user_purge's main() offline, through the shared module base and converge engine, against
a fake Graph that keeps active users and a recycle bin the way the module's reads and writes see
them."""

import json
import os
import re
import stat
from unittest import mock
from urllib.parse import unquote_plus

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._module.base import SyncfixModule
from ansible_collections.syncfix.entra.plugins.module_utils._backends import entra_user_purge_batch as removal_batch
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphError, OutcomeUnknown
from ansible_collections.syncfix.entra.plugins.modules import entra_user_purge

from module_runner import run_module

AUTH = dict(tenant_id="t1", client_id="c1", client_secret="s")
ADMIN_ROLE = "62e90394-69f5-4237-9190-012177145e10"
BINNED = "0b0b0b0b-0000-4000-8000-000000000001"
# Graph's object ids are GUIDs, and a backup file is named only by one (issue 26, finding 7).
A1, A2, A3, A4, A5, A6, A7, A8 = ("aaaaaaaa-0000-4000-8000-00000000000%d" % n for n in range(1, 9))
D2 = "dddddddd-0000-4000-8000-000000000002"
BACKUPS = None  # the tmp_path_factory of the running test (fixture ``backups``)


def named(*selectors):
    """users[] items naming each selector, the state left to the task."""
    return [dict(user=selector) for selector in selectors]


def user(upn, uid, **extra):
    return dict(dict(id=uid, userPrincipalName=upn, proxyAddresses=[], onPremisesSyncEnabled=None), **extra)


class FakeGraph:
    """Answers the lookups ($batch GETs, the recycle bin) and applies the three writes."""

    def __init__(self, active=(), deleted=(), licenses=None, roles=None):
        self.active = dict((u["id"], u) for u in active)
        self.deleted = dict((u["id"], u) for u in deleted)
        self.licenses = licenses or {}
        self.roles = roles or {}
        self.writes = []
        self.reads = []
        self.role_name_lists = 0
        self.bodies = []
        self.fail = {}
        self.lost_after = set()  # paths whose write lands and whose answer is lost
        self.lost_once = set()  # paths whose next write is lost before Graph carries it out
        self.stats = {"requests": 0}
        self.envelopes = []

    # reads

    def batch(self, requests):
        """Reads answer 200; writes are carried out one by one as ``request`` does, a failed one
        answering its status, a lost one losing the whole envelope's answer (as a dropped
        connection does)."""
        self.stats["requests"] += 1
        self.envelopes.append([(r["method"], r["url"]) for r in requests])
        answers = []
        for r in requests:
            if r["method"] == "GET":
                answers.append({"status": 200, "headers": {}, "body": {"value": self._answer(unquote_plus(r["url"]))}})
                continue
            try:
                self.request(r["method"], r["url"], body=r.get("body"))
            except OutcomeUnknown:
                raise
            except GraphError as e:
                answers.append({"status": e.status, "headers": {"request-id": e.request_id} if e.request_id else {},
                                "body": {"error": {"code": e.code, "message": e.message}}})
            else:
                answers.append({"status": 204, "headers": {}, "body": None})
        return answers

    def _answer(self, url):
        by_field = re.match(r"/users\?.*\$filter=(id|userPrincipalName) in \((.*?)\)&", url)
        if by_field:
            wanted = [v.strip("'").lower() for v in by_field.group(2).split(",")]
            return [u for u in self.active.values() if u[by_field.group(1)].lower() in wanted]
        by_address = [a.lower() for a in re.findall(r"proxyAddresses/any\(p:p eq '(.*?)'\)", url)]
        if by_address:
            return [u for u in self.active.values() if set(by_address) & set(p.lower() for p in u["proxyAddresses"])]
        licensed = re.match(r"/users/(.*)/licenseDetails", url)
        if licensed:
            return [{"skuPartNumber": sku} for sku in self.licenses.get(licensed.group(1), [])]
        if "/memberOf" in url or "/members" in url:
            return []
        if "roleAssignments" in url:
            return [{"principalId": p, "roleDefinitionId": r} for p, held in self.roles.items() for r in held]
        if "roleEligibilityScheduleInstances" in url:
            return []
        raise AssertionError("unexpected read " + url)

    def iterate(self, path, params=None, **context):
        self.stats["requests"] += 1
        if path == "/roleManagement/directory/roleDefinitions":
            self.role_name_lists += 1
            assert params == {"$select": "id,displayName"}
            return iter([{"id": ADMIN_ROLE, "displayName": "Global Administrator"}])
        assert path == "/directory/deletedItems/microsoft.graph.user"
        return iter(list(self.deleted.values()))

    # writes

    def request(self, method, path, body=None, operation=None, target=None, **context):
        self.stats["requests"] += 1
        self.writes.append((method, path))
        self.bodies.append(body)
        if path in self.fail:
            raise self.fail[path]
        if path in self.lost_once:
            self.lost_once.discard(path)
            raise OutcomeUnknown(None, "OutcomeUnknown", "the connection was lost after the request was sent", None,
                                 method, path)
        user_id = path.split("/")[-2 if path.endswith("/restore") else -1]
        if method == "DELETE" and path.startswith("/users/"):
            self.deleted[user_id] = dict(self.active.pop(user_id), deletedDateTime="2026-01-01T00:00:00Z")
        elif method == "DELETE":
            if user_id not in self.deleted:
                raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist" % user_id,
                                 operation=operation, target=target)
            del self.deleted[user_id]
        else:
            self.active[user_id] = self.deleted.pop(user_id)
        if path in self.lost_after:
            raise OutcomeUnknown(None, "OutcomeUnknown", "the connection was lost after the request was sent",
                                 None, operation, target)
        return None

    def get(self, path, params=None, **context):
        self.stats["requests"] += 1
        self.reads.append(path)
        user_id = path.rsplit("/", 1)[1]
        if user_id in (self.active if path.startswith("/users/") else self.deleted):
            return {"id": user_id}
        raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does not exist" % user_id)


def tenant():
    return FakeGraph(
        active=[user("plain@contoso.com", A1), user("vp@contoso.com", A2), user("admin@contoso.com", A3),
                user("synced@contoso.com", A4, onPremisesSyncEnabled=True, onPremisesImmutableId="QQ==")],
        deleted=[user("binned@contoso.com", BINNED)],
        licenses={A2: ["SPE_E3"]}, roles={A3: [ADMIN_ROLE]})


def purge(graph, check_mode=False, diff=False, backup=True, **args):
    """Run the module; a state that removes users gets a fresh ``backup_dir`` unless one is given
    (or ``backup=False``)."""
    if backup and args.get("state") in ("deleted", "purged") and "backup_dir" not in args:
        args["backup_dir"] = str(BACKUPS.mktemp("backup", numbered=True))
    warned = []
    with mock.patch.object(SyncfixModule, "warn", lambda self, msg: warned.append(msg)):
        result = run_module(entra_user_purge.main, dict(AUTH, **args), check_mode=check_mode, diff=diff, graph=graph)
    return dict(result, warnings=warned)


@pytest.fixture(autouse=True)
def backups(tmp_path_factory):
    global BACKUPS
    BACKUPS = tmp_path_factory
    return tmp_path_factory


def test_check_mode_reads_and_summarises_but_writes_nothing(tmp_path):
    graph = tenant()
    result = purge(graph, check_mode=True, diff=True, user="plain@contoso.com", state="purged",
                   backup_dir=str(tmp_path / "b"))
    (item,) = result["results"]
    assert result["changed"] is True and graph.writes == [] and not (tmp_path / "b").exists()
    assert (item["before"], item["after"], item["msg"]) == ("active", "gone", "would soft-delete and purge")
    assert item["id"] == A1 and item["record_summary"]["userPrincipalName"] == "plain@contoso.com"
    assert "record" not in item and "backup_file" not in item
    assert result["diff"] == {"before": {"plain@contoso.com": {"state": "active"}},
                              "after": {"plain@contoso.com": {"state": "gone"}}}


def test_the_output_carries_a_summary_and_the_path_the_record_only_the_file(tmp_path):
    graph = tenant()
    graph.active[A2]["mail"] = "vp@contoso.com"
    result = purge(graph, user="vp@contoso.com", state="deleted", allow_data_loss=True, backup_dir=str(tmp_path))
    (item,) = result["results"]
    assert item["record_summary"] == {"id": A2, "userPrincipalName": "vp@contoso.com", "displayName": None,
                                      "licenses": 1, "groups": 0, "roles": 0, "mailbox": True,
                                      "onPremisesSyncEnabled": False, "deletedDateTime": None}
    assert "record" not in item and "SPE_E3" not in json.dumps(result)
    saved = json.loads(open(item["backup_file"]).read())
    assert saved["licenses"] == ["SPE_E3"] and saved["user"]["mail"] == "vp@contoso.com"


def test_backup_dir_is_required_to_delete_or_purge_but_not_to_restore():
    graph = tenant()
    for state in ("deleted", "purged"):
        missing = purge(graph, backup=False, user="plain@contoso.com", state=state)
        assert missing["failed"] is True and "backup_dir" in missing["msg"] and "state is %s" % state in missing["msg"]
    assert graph.writes == [] and graph.stats["requests"] == 0
    assert purge(graph, backup=False, user=BINNED, state="restored")["changed"] is True


def test_delete_then_again_is_unchanged_and_purge_waits_only_after_its_own_delete(tmp_path):
    graph = tenant()
    deleted = purge(graph, user="plain@contoso.com", state="deleted", backup_dir=str(tmp_path))
    assert deleted["changed"] is True and deleted["results"][0]["msg"] == "soft-delete"
    again = purge(graph, user="plain@contoso.com", state="deleted", backup_dir=str(tmp_path))
    assert again["changed"] is False and again["results"][0]["msg"] == "already in the recycle bin"
    assert graph.writes == [("DELETE", "/users/" + A1)]

    purged = purge(graph, users=named("plain@contoso.com", "never@contoso.com"), state="purged", backup_dir=str(tmp_path),
                   lookup_failure_action="ignore")
    plain, never = purged["results"]
    assert (plain["before"], plain["after"], plain["msg"]) == ("deleted", "gone", "purge")
    assert json.loads(open(plain["backup_file"]).read())["location"] == "deleted"
    assert never["changed"] is False and never["msg"] == (
        "matches no active or soft-deleted user, and backup_dir %s holds no record of it; nothing to purge" % tmp_path)
    assert purged["warnings"] == []
    again = purge(graph, user="plain@contoso.com", state="purged", backup_dir=str(tmp_path))
    assert again["changed"] is False and not again.get("failed"), again
    assert again["results"][0]["msg"] == "already purged (record %s)" % plain["backup_file"]

    both = purge(graph, user="vp@contoso.com", state="purged", allow_data_loss=True)
    assert (both["results"][0]["after"], both["results"][0]["msg"]) == ("gone", "soft-delete and purge")
    assert graph.writes[-2:] == [("DELETE", "/users/" + A2), ("DELETE", "/directory/deletedItems/" + A2)]


def test_a_purge_meeting_a_404_waits_for_the_recycle_bin_only_after_its_own_delete(tmp_path):
    graph = tenant()
    graph.fail["/directory/deletedItems/" + BINNED] = GraphError(404, "Request_ResourceNotFound", "Resource does not exist")
    original, lagging = graph.request, {"/directory/deletedItems/" + A1: 2}

    def eventually(method, path, **context):
        if lagging.get(path):  # the bin shows a1 only on the third try
            lagging[path] -= 1
            graph.writes.append((method, path))
            raise GraphError(404, "Request_ResourceNotFound", "Resource does not exist")
        return original(method, path, **context)

    graph.request = eventually
    with mock.patch.object(removal_batch.time, "sleep") as slept:
        result = purge(graph, users=named("plain@contoso.com", BINNED), state="purged", backup_dir=str(tmp_path))
    plain, binned = result["results"]
    assert (plain["after"], plain.get("failed")) == ("gone", None), plain
    assert graph.writes.count(("DELETE", "/directory/deletedItems/" + A1)) == 3
    assert [c.args[0] for c in slept.call_args_list] == [1, 2], "waited for its own delete, twice"
    assert binned["failed"] is True and binned["after"] == "deleted" and "404" in binned["msg"]
    assert graph.writes.count(("DELETE", "/directory/deletedItems/" + BINNED)) == 1, \
        "a user found in the recycle bin does not wait out a 404: somebody else purged or restored it"


def test_a_refused_user_is_untouched_not_even_backed_up_and_the_others_go_on(tmp_path):
    # Issue 26: opt-ins are per item, so a refusal fails its own item; the others are applied.
    graph = tenant()
    backup = tmp_path / "removed"
    result = purge(graph, users=named("plain@contoso.com", "vp@contoso.com", "admin@contoso.com", "synced@contoso.com"),
                   state="purged", backup_dir=str(backup))
    plain, vp, admin, synced = result["results"]
    assert result["failed"] is True and result["changed"] is True
    assert graph.writes == [("DELETE", "/users/" + A1), ("DELETE", "/directory/deletedItems/" + A1)]
    assert os.listdir(backup) == [os.path.basename(plain["backup_file"])], "no record of a user not removed"
    assert "it has licenses SPE_E3" in vp["msg"] and "allow_data_loss: true" in vp["msg"]
    assert vp["error"]["kind"] == "refused" and vp["record_summary"]["licenses"] == 1
    assert "it holds or is eligible for directory roles Global Administrator (%s)" % ADMIN_ROLE in admin["msg"]
    assert "cannot be deleted in the cloud" in synced["msg"]
    assert all(r["after"] == "active" and r["changed"] is False for r in (vp, admin, synced))
    assert (plain["changed"], plain["after"]) == (True, "gone")


def test_all_refused_writes_nothing_not_even_the_backup(tmp_path):
    graph = tenant()
    backup = tmp_path / "removed"
    result = purge(graph, users=named("vp@contoso.com", "admin@contoso.com"), state="purged", backup_dir=str(backup))
    assert result["failed"] is True and result["changed"] is False
    assert graph.writes == [] and not backup.exists()


def test_a_failure_after_the_soft_delete_reports_the_user_as_deleted():
    graph = tenant()
    graph.fail["/directory/deletedItems/" + A1] = GraphError(
        500, "InternalServerError", "try later", "rid-7", "purge user", "plain@contoso.com")
    result = purge(graph, users=named("plain@contoso.com", "binned@contoso.com"), state="purged")
    plain, binned = result["results"]
    assert result["failed"] is True and result["changed"] is True
    assert (plain["changed"], plain["before"], plain["after"]) == (True, "active", "deleted")
    assert plain["msg"].endswith("Graph answered 500 InternalServerError: try later (request-id rid-7); "
                                 "the user is now deleted")
    assert plain["error"]["kind"] == "graph" and plain["error"]["status"] == 500
    assert plain["error"]["request_id"] == "rid-7"
    assert (binned["changed"], binned["after"]) == (True, "gone")
    assert "Done: binned@contoso.com" in result["msg"]


def test_a_recycle_bin_that_never_shows_the_user_says_to_run_again():
    graph = tenant()
    original = graph.request

    def lagging(method, path, **context):
        if path.startswith("/directory/deletedItems/"):
            graph.writes.append((method, path))
            raise GraphError(404, "Request_ResourceNotFound", "Resource does not exist")
        return original(method, path, **context)

    graph.request = lagging
    with mock.patch.object(removal_batch.time, "sleep") as slept:
        result = purge(graph, user="plain@contoso.com", state="purged")
    (item,) = result["results"]
    assert item["after"] == "deleted" and item["changed"] is True
    assert "soft-deleted but did not appear in the recycle bin within 15 s: run the task again" in item["msg"]
    assert [c.args[0] for c in slept.call_args_list] == [1, 2, 4, 8]
    assert graph.writes.count(("DELETE", "/directory/deletedItems/" + A1)) == 5


def test_restore_and_a_failed_restore_leaves_the_user_where_it_was():
    graph = tenant()
    graph.fail["/directory/deletedItems/%s/restore" % BINNED] = GraphError(
        400, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.")
    clash = purge(graph, user=BINNED, state="restored")
    assert clash["failed"] is True and clash["changed"] is False
    assert clash["results"][0]["after"] == "deleted" and "userPrincipalName" in clash["results"][0]["msg"]
    graph.fail.clear()
    done = purge(graph, user=BINNED, state="restored", new_user_principal_name="binned.restored@contoso.com")
    assert done["changed"] is True and done["results"][0]["after"] == "active"
    assert "record_summary" not in done["results"][0]
    assert graph.bodies[-1] == {"autoReconcileProxyConflict": False, "newUserPrincipalName": "binned.restored@contoso.com"}
    assert purge(graph, user=BINNED, state="restored")["results"][0]["msg"] == "already active"


def test_ambiguous_or_repeated_selectors_fail_before_any_write():
    graph = tenant()
    graph.active[A5] = user("other@contoso.com", A5, proxyAddresses=["smtp:shared@contoso.com"])
    graph.active[A6] = user("else@contoso.com", A6, proxyAddresses=["smtp:shared@contoso.com"])
    ambiguous = purge(graph, users=named("plain@contoso.com", "shared@contoso.com"), state="deleted")
    assert ambiguous["failed"] is True and ambiguous["msg"] == (
        "ambiguous users, nothing was changed: shared@contoso.com matches several active users "
        "(else@contoso.com, other@contoso.com); name one by object id")
    twice = purge(graph, users=named("plain@contoso.com", "PLAIN@contoso.com"), state="deleted")
    assert twice["failed"] is True and twice["error"]["kind"] == "input" and "listed twice" in twice["msg"]
    assert graph.writes == []


def test_a_failed_read_fails_the_task_saying_nothing_was_changed():
    graph = tenant()

    def refuse(path, params=None, **context):
        raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges", "rid-3",
                         "list deleted users", path)

    graph.iterate = refuse
    result = purge(graph, user="plain@contoso.com", state="deleted")
    assert result["failed"] is True and result["msg"].endswith("; nothing was changed")
    assert result["error"]["status"] == 403 and graph.writes == []


def test_a_selector_naming_an_active_user_and_another_soft_deleted_one_is_refused():
    # old@ is the UPN of a soft-deleted user and an alias of an active one: purging either is a guess.
    graph = tenant()
    graph.active[A7] = user("new@contoso.com", A7, proxyAddresses=["smtp:old@contoso.com"])
    graph.deleted[D2] = user("old@contoso.com", D2)
    refused = purge(graph, user="old@contoso.com", state="purged", allow_data_loss=True)
    assert refused["failed"] is True and graph.writes == []
    assert "old@contoso.com matches several active and soft-deleted users" in refused["msg"]
    assert "new@contoso.com (active, %s)" % A7 in refused["msg"]
    assert "old@contoso.com (soft-deleted, %s)" % D2 in refused["msg"]
    # by object id there is nothing to guess
    assert purge(graph, user=D2, state="purged")["results"][0]["after"] == "gone"
    assert graph.writes == [("DELETE", "/directory/deletedItems/" + D2)] and A7 in graph.active


def test_one_user_named_by_upn_and_by_id_is_refused_naming_both():
    graph = tenant()
    ann = "0a0a0a0a-0000-4000-8000-0000000000a1"
    graph.active[ann] = user("ann@contoso.com", ann, proxyAddresses=["smtp:ann.alias@contoso.com"])
    refused = purge(graph, users=named("ann@contoso.com", ann, "ann.alias@contoso.com"), state="deleted")
    assert refused["failed"] is True and graph.writes == []
    assert all(r["failed"] and r["error"]["kind"] == "refused" for r in refused["results"])
    assert "'ann@contoso.com' and '%s', 'ann.alias@contoso.com' name the same object (%s)" % (ann, ann) \
        in refused["results"][0]["msg"]


def test_an_unwritable_backup_dir_fails_before_any_delete(tmp_path):
    graph = tenant()
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    result = purge(graph, users=named("plain@contoso.com", "vp@contoso.com"), state="purged", allow_data_loss=True,
                   backup_dir=str(blocker / "backups"))
    assert result["failed"] is True and result.get("changed") is not True and graph.writes == []
    assert "backup_dir" in result["msg"] and "nothing was deleted" in result["msg"]


def test_backups_are_readable_by_their_owner_only(tmp_path):
    graph = tenant()
    result = purge(graph, user="plain@contoso.com", state="deleted", backup_dir=str(tmp_path / "b"))
    path = result["results"][0]["backup_file"]
    assert oct(os.stat(path).st_mode & 0o777) == "0o600" and oct(os.stat(tmp_path / "b").st_mode & 0o777) == "0o700"


def test_state_is_required_and_a_restore_option_elsewhere_is_refused():
    graph = tenant()
    missing = purge(graph, user="plain@contoso.com")
    assert missing["failed"] is True and "state" in missing["msg"]
    stray = purge(graph, user="plain@contoso.com", state="deleted", new_user_principal_name="x@contoso.com")
    assert stray["failed"] is True and "new_user_principal_name applies only to state: restored" in stray["msg"]
    assert graph.writes == []


def test_a_global_administrator_is_not_purged_with_allow_data_loss_alone():
    graph = tenant()
    refused = purge(graph, user="admin@contoso.com", state="purged", allow_data_loss=True)
    assert refused["failed"] is True and "allow_role_holder_removal" in refused["msg"] and graph.writes == []
    done = purge(graph, user="admin@contoso.com", state="purged", allow_role_holder_removal=True)
    assert done["changed"] is True and done["results"][0]["after"] == "gone"
    saved = json.loads(open(done["results"][0]["backup_file"]).read())
    assert saved["roles"]["active"] == [{"id": ADMIN_ROLE, "displayName": "Global Administrator"}], \
        "the record keeps what was removed"
    assert done["results"][0]["record_summary"]["roles"] == 1
    assert graph.role_name_lists == 2, "one list of role names per run, not one read per role"


def test_a_delete_whose_answer_is_lost_is_read_back_not_sent_again():
    graph = tenant()
    graph.lost_after = {"/users/" + A1}
    done = purge(graph, user="plain@contoso.com", state="purged")
    assert done["changed"] is True and not done.get("failed"), done
    assert done["results"][0]["after"] == "gone"
    assert graph.writes == [("DELETE", "/users/" + A1), ("DELETE", "/directory/deletedItems/" + A1)], "each write once"
    assert graph.reads == ["/users/" + A1, "/directory/deletedItems/" + A1], "read back once: in the recycle bin"


def test_a_purge_whose_answer_is_lost_is_done_once_the_bin_no_longer_has_the_user():
    graph = tenant()
    graph.lost_after = {"/directory/deletedItems/" + BINNED}
    done = purge(graph, user=BINNED, state="purged")
    assert done["changed"] is True and done["results"][0]["after"] == "gone" and not done.get("failed"), done
    assert graph.writes == [("DELETE", "/directory/deletedItems/" + BINNED)]


def test_a_lost_answer_for_a_write_that_did_not_land_leaves_the_user_where_it_was():
    graph = tenant()
    graph.fail["/users/" + A1] = OutcomeUnknown(
        None, "OutcomeUnknown", "the connection was lost after the request was sent", None, "soft-delete user",
        "plain@contoso.com")
    failed = purge(graph, user="plain@contoso.com", state="deleted")
    (item,) = failed["results"]
    assert failed["failed"] is True and item["changed"] is False and item["after"] == "active"
    assert "not done" in item["msg"] and "shows it active" in item["msg"]


def test_a_write_read_back_as_not_carried_out_is_sent_again_and_lands_once():
    graph = tenant()
    graph.lost_once = {"/users/" + A1, "/directory/deletedItems/" + A1}
    done = purge(graph, user="plain@contoso.com", state="purged")
    assert done["changed"] is True and done["results"][0]["after"] == "gone" and not done.get("failed"), done
    # Each sent twice: the first never carried out (read back: still there), the second landed.
    assert graph.writes == [("DELETE", "/users/" + A1)] * 2 + [("DELETE", "/directory/deletedItems/" + A1)] * 2
    assert graph.reads[:1] == ["/users/" + A1] and A1 not in graph.deleted


def test_auto_reconcile_outside_a_restore_is_refused():
    graph = tenant()
    stray = purge(graph, user="plain@contoso.com", state="deleted", auto_reconcile_proxy_conflict=True)
    assert stray["failed"] is True and "auto_reconcile_proxy_conflict applies only to state: restored" in stray["msg"]
    assert graph.writes == []


def test_a_selector_naming_nothing_fails_by_default_and_nothing_is_written(tmp_path):
    graph = tenant()
    result = purge(graph, users=named("plain@contoso.com", "typo@contoso.com"), state="purged", backup_dir=str(tmp_path))
    plain, typo = result["results"]
    assert result["failed"] is True and graph.writes == []
    assert typo["failed"] is True and typo["msg"].startswith(
        "typo@contoso.com: matches no active or soft-deleted user, and backup_dir %s holds no record of it; "
        "check the selector" % tmp_path)
    assert "lookup_failure_action: warn" in typo["msg"] and "typo@contoso.com" in result["msg"]
    assert plain["changed"] is False and "nothing was written because another item was refused" in plain["msg"]


def test_with_warn_a_selector_naming_nothing_is_a_warning_and_the_others_go_on(tmp_path):
    graph = tenant()
    result = purge(graph, users=named("plain@contoso.com", "typo@contoso.com"), state="deleted", backup_dir=str(tmp_path),
                   lookup_failure_action="warn")
    plain, typo = result["results"]
    assert not result.get("failed") and plain["changed"] is True and typo["changed"] is False
    assert graph.writes == [("DELETE", "/users/" + A1)]
    assert typo["msg"].endswith("nothing to delete")
    assert result["warnings"] == ["typo@contoso.com: matches no active or soft-deleted user, and backup_dir %s holds "
                                  "no record of it; going on without it (lookup_failure_action: warn)" % tmp_path]


def test_a_user_purged_by_an_earlier_run_is_known_by_its_record_by_any_of_its_names(tmp_path):
    graph = tenant()
    graph.active[A8] = user("mover@contoso.com", A8,
                            proxyAddresses=["SMTP:mover@contoso.com", "smtp:m.alias@contoso.com"])
    first = purge(graph, user="mover@contoso.com", state="purged", allow_data_loss=True, backup_dir=str(tmp_path))
    assert first["changed"] is True and graph.writes[-1] == ("DELETE", "/directory/deletedItems/" + A8)
    writes = list(graph.writes)
    again = purge(graph, users=named("mover@contoso.com", "m.alias@contoso.com", A8), state="purged",
                  backup_dir=str(tmp_path), check_mode=True)
    # one user named three ways is still refused as one object
    assert again["failed"] is True and "name the same object (%s)" % A8 in again["results"][0]["msg"]
    alias = purge(graph, user="m.alias@contoso.com", state="purged", backup_dir=str(tmp_path))
    assert alias["changed"] is False and not alias.get("failed"), alias
    assert alias["results"][0]["msg"] == "already purged (record %s)" % first["results"][0]["backup_file"]
    assert alias["results"][0]["backup_file"] == first["results"][0]["backup_file"]
    elsewhere = purge(graph, user=A8, state="purged", backup_dir=str(tmp_path / "other"))
    assert elsewhere["failed"] is True and "holds no record of it" in elsewhere["results"][0]["msg"]
    assert graph.writes == writes


def test_each_item_has_its_own_state_so_a_link_plan_phase_goes_in_unchanged(tmp_path):
    graph = tenant()
    items = [dict(user="plain@contoso.com", state="purged"),
             dict(user=BINNED, state="restored", new_user_principal_name="binned.back@contoso.com")]
    checked = purge(graph, check_mode=True, users=items, backup_dir=str(tmp_path))
    assert checked["changed"] is True and graph.writes == []
    assert [(r["item"], r["after"]) for r in checked["results"]] == [("plain@contoso.com", "gone"), (BINNED, "active")]
    done = purge(graph, users=items, backup_dir=str(tmp_path))
    assert done["changed"] is True and [r["after"] for r in done["results"]] == ["gone", "active"]
    assert "backup_file" in done["results"][0] and "backup_file" not in done["results"][1]
    restore = ("POST", "/directory/deletedItems/%s/restore" % BINNED)
    assert graph.bodies[graph.writes.index(restore)] == {"autoReconcileProxyConflict": False,
                                                         "newUserPrincipalName": "binned.back@contoso.com"}
    # Each step goes out for every user at once: the first steps in one envelope, then the purge.
    writes = [envelope for envelope in graph.envelopes if envelope and envelope[0][0] != "GET"]
    assert writes == [[("DELETE", "/users/" + A1), restore], [("DELETE", "/directory/deletedItems/" + A1)]]
    again = purge(graph, users=items, backup_dir=str(tmp_path))
    assert again["changed"] is False
    assert again["results"][0]["msg"].startswith("already purged (record ") and again["results"][1]["after"] == "active"


def test_an_item_without_a_state_and_a_removal_without_backup_dir_are_named_before_any_request():
    graph = tenant()
    stateless = purge(graph, users=[dict(user="plain@contoso.com", state="deleted"), dict(user="vp@contoso.com")],
                      backup_dir="/nonexistent")
    assert stateless["failed"] is True and stateless["error"]["kind"] == "input"
    assert "vp@contoso.com: no state; give state (deleted, purged, restored) on the item or for the task" in stateless["msg"]
    unbacked = purge(graph, users=[dict(user=BINNED, state="restored"), dict(user="plain@contoso.com", state="purged")])
    assert unbacked["failed"] is True and "plain@contoso.com (state is purged)" in unbacked["msg"]
    assert BINNED not in unbacked["msg"]
    assert graph.writes == [] and graph.stats["requests"] == 0


def test_many_users_go_twenty_to_an_envelope_one_step_after_another(tmp_path):
    graph = tenant()
    ids = ["0b0b0b0b-0000-4000-8000-%012d" % n for n in range(45)]
    for n, uid in enumerate(ids):
        graph.active[uid] = user("bulk%02d@contoso.com" % n, uid)
    done = purge(graph, users=named(*ids), state="purged", backup_dir=str(tmp_path))
    assert done["changed"] is True and all(r["after"] == "gone" for r in done["results"]), done
    writes = [envelope for envelope in graph.envelopes if envelope and envelope[0][0] != "GET"]
    assert [len(envelope) for envelope in writes] == [20, 20, 5, 20, 20, 5]
    assert all(path.startswith("/users/") for envelope in writes[:3] for method, path in envelope)
    assert all(path.startswith("/directory/deletedItems/") for envelope in writes[3:] for method, path in envelope)
    assert len(os.listdir(tmp_path)) == 45, "a record for every user"


# -- issue 26: opt-ins per item (finding 5), backups through the private-file writer (finding 7)

def licensed_pair(graph):
    """Two users with data to lose: vp@ (licensed, a mailbox) and a second licensed user."""
    graph.active[A5] = user("sales@contoso.com", A5, mail="sales@contoso.com")
    graph.licenses[A5] = ["SPE_E3"]
    return [dict(user="vp@contoso.com", allow_data_loss=True), dict(user="sales@contoso.com")]


def test_an_items_allow_data_loss_unlocks_that_item_alone(tmp_path):
    # Issue 26, finding 5: one run, two purges with data to lose, one opted in: the first is
    # purged, the second refused, and the results say which.
    graph = tenant()
    result = purge(graph, users=licensed_pair(graph), state="purged", backup_dir=str(tmp_path))
    vp, sales = result["results"]
    assert result["failed"] is True and result["changed"] is True
    assert sales["failed"] is True and sales["error"]["kind"] == "refused" and sales["after"] == "active"
    assert "it has licenses SPE_E3" in sales["msg"] and "allow_data_loss: true on this item" in sales["msg"]
    assert not vp.get("failed") and (vp["after"], vp["msg"]) == ("gone", "soft-delete and purge")
    assert graph.writes == [("DELETE", "/users/" + A2), ("DELETE", "/directory/deletedItems/" + A2)]
    assert A5 in graph.active and os.listdir(tmp_path) == [os.path.basename(vp["backup_file"])]
    assert "sales@contoso.com" in result["msg"]


def test_an_items_false_opt_in_beats_the_tasks_true_and_the_task_stays_the_default(tmp_path):
    graph = tenant()
    items = [dict(user="vp@contoso.com"), dict(user="sales@contoso.com", allow_data_loss=False)]
    licensed_pair(graph)
    result = purge(graph, users=items, state="purged", allow_data_loss=True, backup_dir=str(tmp_path), check_mode=True)
    vp, sales = result["results"]
    assert sales["failed"] is True and "allow_data_loss: true on this item" in sales["msg"]
    assert not vp.get("failed"), "the task's allow_data_loss is the default of an item that sets none"


def test_an_items_allow_role_holder_removal_unlocks_that_item_alone(tmp_path):
    graph = tenant()
    graph.active[A6] = user("admin2@contoso.com", A6)
    graph.roles[A6] = [ADMIN_ROLE]
    items = [dict(user="admin@contoso.com", allow_role_holder_removal=True), dict(user="admin2@contoso.com")]
    result = purge(graph, users=items, state="purged", backup_dir=str(tmp_path), check_mode=True)
    admin, admin2 = result["results"]
    assert admin2["failed"] is True and "allow_role_holder_removal: true on this item" in admin2["msg"]
    assert not admin.get("failed") and admin["msg"].startswith("would soft-delete and purge")


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_backup_dir_others_can_write_is_refused_before_any_graph_request(tmp_path, check_mode):
    graph = tenant()
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    result = purge(graph, user="plain@contoso.com", state="purged", backup_dir=str(shared), check_mode=check_mode)
    assert result["failed"] is True and result["error"]["kind"] == "input"
    assert "backup_dir %s can't keep the records" % shared in result["msg"] and "can be written by others" in result["msg"]
    assert "no request was sent" in result["msg"]
    assert graph.stats["requests"] == 0 and os.listdir(shared) == []


def test_a_symlinked_backup_dir_is_refused_before_any_graph_request(tmp_path):
    graph = tenant()
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "alias").symlink_to(real)
    result = purge(graph, user="plain@contoso.com", state="deleted", backup_dir=str(tmp_path / "alias"))
    assert result["failed"] is True and "is a symbolic link" in result["msg"]
    assert graph.stats["requests"] == 0 and os.listdir(real) == []


def test_a_user_whose_id_is_not_a_guid_never_names_a_file_and_nothing_is_written(tmp_path):
    graph = tenant()
    graph.active["../../escape"] = user("odd@contoso.com", "../../escape")
    result = purge(graph, users=named("plain@contoso.com", "odd@contoso.com"), state="purged",
                   backup_dir=str(tmp_path / "b"))
    plain, odd = result["results"]
    assert result["failed"] is True and odd["error"]["kind"] == "refused"
    assert "object id '../../escape' is not a GUID" in odd["msg"] and "nothing was written" in odd["msg"]
    assert graph.writes == [] and not (tmp_path / "b").exists() and os.listdir(tmp_path) == []
    assert "nothing was written because another item was refused" in plain["msg"]


def test_every_backup_is_synced_to_disk_before_the_first_delete(tmp_path, monkeypatch):
    from ansible_collections.syncfix.entra.plugins.module_utils._report import private_file as _private_file
    graph = tenant()
    events = []
    real_fsync, real_batch = os.fsync, graph.batch
    monkeypatch.setattr(_private_file.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])

    def batch(requests):
        events.extend(r["method"] for r in requests if r["method"] != "GET")
        return real_batch(requests)

    graph.batch = batch
    done = purge(graph, users=named("plain@contoso.com", BINNED), state="purged", backup_dir=str(tmp_path))
    assert done["changed"] is True and not done.get("failed"), done
    # Each backup: the file, then its folder; then the deletes.
    assert events == ["fsync"] * 4 + ["DELETE"] * 3, events
    assert len(os.listdir(tmp_path)) == 2


def test_a_symlink_planted_at_a_backup_path_is_not_followed_and_no_user_is_removed(tmp_path, monkeypatch):
    graph = tenant()
    folder = tmp_path / "b"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("keep")
    monkeypatch.setattr(removal_batch, "utc_stamp", lambda: "20260101T000000Z")
    (folder / ("%s-20260101T000000Z.json" % BINNED)).symlink_to(victim)
    result = purge(graph, users=named("plain@contoso.com", BINNED), state="purged", backup_dir=str(folder))
    plain, binned = result["results"]
    assert result["failed"] is True and result["changed"] is False and graph.writes == []
    assert victim.read_text() == "keep"
    assert "the record of %s could not be written" % BINNED in binned["msg"] and "not a regular file" in binned["msg"]
    assert plain["failed"] is True and "so nothing was sent for plain@contoso.com" in plain["msg"]
    assert plain["after"] == "active" and "backup_file" not in plain
    assert sorted(os.listdir(folder)) == ["%s-20260101T000000Z.json" % BINNED], \
        "the record written for plain@ is taken back: nobody was removed"


def test_an_existing_backup_with_a_wide_mode_is_replaced_by_a_private_one(tmp_path, monkeypatch):
    graph = tenant()
    monkeypatch.setattr(removal_batch, "utc_stamp", lambda: "20260101T000000Z")
    old = tmp_path / ("%s-20260101T000000Z.json" % A1)
    old.write_text("{}")
    os.chmod(old, 0o644)
    done = purge(graph, user="plain@contoso.com", state="deleted", backup_dir=str(tmp_path))
    assert done["results"][0]["backup_file"] == str(old)
    assert stat.S_IMODE(os.lstat(old).st_mode) == 0o600 and json.loads(old.read_text())["user"]["id"] == A1


def test_two_items_naming_one_user_are_refused_and_never_sent_while_the_others_go(tmp_path):
    graph = tenant()
    result = purge(graph, users=named("plain@contoso.com", A1, BINNED), state="purged", backup_dir=str(tmp_path))
    plain, by_id, binned = result["results"]
    assert result["failed"] is True and plain["failed"] is True and by_id["failed"] is True
    assert "name the same object (%s)" % A1 in plain["msg"]
    assert binned["after"] == "gone" and not binned.get("failed"), binned
    assert graph.writes == [("DELETE", "/directory/deletedItems/" + BINNED)] and A1 in graph.active
    assert os.listdir(tmp_path) == [os.path.basename(binned["backup_file"])]

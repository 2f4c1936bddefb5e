"""entra_user_purge's main() offline, through the shared module base and converge engine, against
a fake Graph that keeps active users and a recycle bin the way the module's reads and writes see
them."""

import json
import os
import re
from unittest import mock
from urllib.parse import unquote_plus

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._module_base import SyncfixModule
from ansible_collections.syncfix.entra.plugins.module_utils import _user_removal_batch as removal_batch
from ansible_collections.syncfix.entra.plugins.module_utils.graph_client import GraphError, OutcomeUnknown
from ansible_collections.syncfix.entra.plugins.modules import entra_user_purge

from module_runner import run_module

AUTH = dict(tenant_id="t1", client_id="c1", client_secret="s")
ADMIN_ROLE = "62e90394-69f5-4237-9190-012177145e10"
BINNED = "0b0b0b0b-0000-4000-8000-000000000001"
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
        active=[user("plain@contoso.com", "a1"), user("vp@contoso.com", "a2"), user("admin@contoso.com", "a3"),
                user("synced@contoso.com", "a4", onPremisesSyncEnabled=True, onPremisesImmutableId="QQ==")],
        deleted=[user("binned@contoso.com", BINNED)],
        licenses={"a2": ["SPE_E3"]}, roles={"a3": [ADMIN_ROLE]})


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
    assert item["id"] == "a1" and item["record_summary"]["userPrincipalName"] == "plain@contoso.com"
    assert "record" not in item and "backup_file" not in item
    assert result["diff"] == {"before": {"plain@contoso.com": {"state": "active"}},
                              "after": {"plain@contoso.com": {"state": "gone"}}}


def test_the_output_carries_a_summary_and_the_path_the_record_only_the_file(tmp_path):
    graph = tenant()
    graph.active["a2"]["mail"] = "vp@contoso.com"
    result = purge(graph, user="vp@contoso.com", state="deleted", allow_data_loss=True, backup_dir=str(tmp_path))
    (item,) = result["results"]
    assert item["record_summary"] == {"id": "a2", "userPrincipalName": "vp@contoso.com", "displayName": None,
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
    assert graph.writes == [("DELETE", "/users/a1")]

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
    assert graph.writes[-2:] == [("DELETE", "/users/a2"), ("DELETE", "/directory/deletedItems/a2")]


def test_a_purge_meeting_a_404_waits_for_the_recycle_bin_only_after_its_own_delete(tmp_path):
    graph = tenant()
    graph.fail["/directory/deletedItems/" + BINNED] = GraphError(404, "Request_ResourceNotFound", "Resource does not exist")
    original, lagging = graph.request, {"/directory/deletedItems/a1": 2}

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
    assert graph.writes.count(("DELETE", "/directory/deletedItems/a1")) == 3
    assert [c.args[0] for c in slept.call_args_list] == [1, 2], "waited for its own delete, twice"
    assert binned["failed"] is True and binned["after"] == "deleted" and "404" in binned["msg"]
    assert graph.writes.count(("DELETE", "/directory/deletedItems/" + BINNED)) == 1, \
        "a user found in the recycle bin does not wait out a 404: somebody else purged or restored it"


def test_a_data_loss_refusal_writes_nothing_not_even_the_backup(tmp_path):
    graph = tenant()
    backup = tmp_path / "removed"
    result = purge(graph, users=named("plain@contoso.com", "vp@contoso.com", "admin@contoso.com", "synced@contoso.com"),
                   state="purged", backup_dir=str(backup))
    plain, vp, admin, synced = result["results"]
    assert result["failed"] is True and result["changed"] is False
    assert graph.writes == [] and not backup.exists()
    assert "it has licenses SPE_E3" in vp["msg"] and "allow_data_loss: true" in vp["msg"]
    assert vp["error"]["kind"] == "refused" and vp["record_summary"]["licenses"] == 1
    assert "it holds or is eligible for directory roles Global Administrator (%s)" % ADMIN_ROLE in admin["msg"]
    assert "cannot be deleted in the cloud" in synced["msg"]
    assert plain["changed"] is False and plain["after"] == "active"
    assert "nothing was written because another item was refused" in plain["msg"]


def test_a_failure_after_the_soft_delete_reports_the_user_as_deleted():
    graph = tenant()
    graph.fail["/directory/deletedItems/a1"] = GraphError(500, "InternalServerError", "try later", "rid-7",
                                                          "purge user", "plain@contoso.com")
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
    assert graph.writes.count(("DELETE", "/directory/deletedItems/a1")) == 5


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
    graph.active["a5"] = user("other@contoso.com", "a5", proxyAddresses=["smtp:shared@contoso.com"])
    graph.active["a6"] = user("else@contoso.com", "a6", proxyAddresses=["smtp:shared@contoso.com"])
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
    graph.active["a7"] = user("new@contoso.com", "a7", proxyAddresses=["smtp:old@contoso.com"])
    graph.deleted["d2"] = user("old@contoso.com", "d2")
    refused = purge(graph, user="old@contoso.com", state="purged", allow_data_loss=True)
    assert refused["failed"] is True and graph.writes == []
    assert "old@contoso.com matches several active and soft-deleted users" in refused["msg"]
    assert "new@contoso.com (active, a7)" in refused["msg"] and "old@contoso.com (soft-deleted, d2)" in refused["msg"]
    # by object id there is nothing to guess
    assert purge(graph, user="d2", state="purged")["results"][0]["after"] == "gone"
    assert graph.writes == [("DELETE", "/directory/deletedItems/d2")] and "a7" in graph.active


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
    graph.lost_after = {"/users/a1"}
    done = purge(graph, user="plain@contoso.com", state="purged")
    assert done["changed"] is True and not done.get("failed"), done
    assert done["results"][0]["after"] == "gone"
    assert graph.writes == [("DELETE", "/users/a1"), ("DELETE", "/directory/deletedItems/a1")], "each write once"
    assert graph.reads == ["/users/a1", "/directory/deletedItems/a1"], "read back once: in the recycle bin"


def test_a_purge_whose_answer_is_lost_is_done_once_the_bin_no_longer_has_the_user():
    graph = tenant()
    graph.lost_after = {"/directory/deletedItems/" + BINNED}
    done = purge(graph, user=BINNED, state="purged")
    assert done["changed"] is True and done["results"][0]["after"] == "gone" and not done.get("failed"), done
    assert graph.writes == [("DELETE", "/directory/deletedItems/" + BINNED)]


def test_a_lost_answer_for_a_write_that_did_not_land_leaves_the_user_where_it_was():
    graph = tenant()
    graph.fail["/users/a1"] = OutcomeUnknown(None, "OutcomeUnknown", "the connection was lost after the request "
                                             "was sent", None, "soft-delete user", "plain@contoso.com")
    failed = purge(graph, user="plain@contoso.com", state="deleted")
    (item,) = failed["results"]
    assert failed["failed"] is True and item["changed"] is False and item["after"] == "active"
    assert "not done" in item["msg"] and "shows it active" in item["msg"]


def test_a_write_read_back_as_not_carried_out_is_sent_again_and_lands_once():
    graph = tenant()
    graph.lost_once = {"/users/a1", "/directory/deletedItems/a1"}
    done = purge(graph, user="plain@contoso.com", state="purged")
    assert done["changed"] is True and done["results"][0]["after"] == "gone" and not done.get("failed"), done
    # Each sent twice: the first never carried out (read back: still there), the second landed.
    assert graph.writes == [("DELETE", "/users/a1")] * 2 + [("DELETE", "/directory/deletedItems/a1")] * 2
    assert graph.reads[:1] == ["/users/a1"] and "a1" not in graph.deleted


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
    assert graph.writes == [("DELETE", "/users/a1")]
    assert typo["msg"].endswith("nothing to delete")
    assert result["warnings"] == ["typo@contoso.com: matches no active or soft-deleted user, and backup_dir %s holds "
                                  "no record of it; going on without it (lookup_failure_action: warn)" % tmp_path]


def test_a_user_purged_by_an_earlier_run_is_known_by_its_record_by_any_of_its_names(tmp_path):
    graph = tenant()
    graph.active["a8"] = user("mover@contoso.com", "a8", proxyAddresses=["SMTP:mover@contoso.com",
                                                                         "smtp:m.alias@contoso.com"])
    first = purge(graph, user="mover@contoso.com", state="purged", allow_data_loss=True, backup_dir=str(tmp_path))
    assert first["changed"] is True and graph.writes[-1] == ("DELETE", "/directory/deletedItems/a8")
    writes = list(graph.writes)
    again = purge(graph, users=named("mover@contoso.com", "m.alias@contoso.com", "a8"), state="purged",
                  backup_dir=str(tmp_path), check_mode=True)
    # one user named three ways is still refused as one object
    assert again["failed"] is True and "name the same object (a8)" in again["results"][0]["msg"]
    alias = purge(graph, user="m.alias@contoso.com", state="purged", backup_dir=str(tmp_path))
    assert alias["changed"] is False and not alias.get("failed"), alias
    assert alias["results"][0]["msg"] == "already purged (record %s)" % first["results"][0]["backup_file"]
    assert alias["results"][0]["backup_file"] == first["results"][0]["backup_file"]
    elsewhere = purge(graph, user="a8", state="purged", backup_dir=str(tmp_path / "other"))
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
    assert writes == [[("DELETE", "/users/a1"), restore], [("DELETE", "/directory/deletedItems/a1")]]
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

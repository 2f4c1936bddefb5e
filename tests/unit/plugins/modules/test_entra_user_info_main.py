"""entra_user_info's main() offline: unknown selectors fail the task unless the user opts out
(lookup_failure_action), and roles come with their names, read in one list."""

from unittest import mock

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._module.base import SyncfixModule
from ansible_collections.syncfix.entra.plugins.modules import entra_user_info

from module_runner import run_module
from test_entra_user_purge_main import A1, ADMIN_ROLE, AUTH, tenant, user


def info(graph, **args):
    warned = []
    with mock.patch.object(SyncfixModule, "warn", lambda self, msg: warned.append(msg)):
        result = run_module(entra_user_info.main, dict(AUTH, **args), graph=graph)
    return dict(result, warnings=[w for w in warned if "onPremisesObjectIdentifier" not in w])


def shared_tenant():
    graph = tenant()
    graph.active["a5"] = user("other@contoso.com", "a5", proxyAddresses=["smtp:shared@contoso.com"])
    graph.active["a6"] = user("else@contoso.com", "a6", proxyAddresses=["smtp:shared@contoso.com"])
    return graph


def test_an_unknown_or_ambiguous_selector_fails_the_task_naming_each_with_the_candidates():
    result = info(shared_tenant(), users=["plain@contoso.com", "nobody@contoso.com", "shared@contoso.com"])
    assert result["failed"] is True
    assert result["msg"] == (
        "unknown users: nobody@contoso.com: matches no active or soft-deleted user; check the selector, or set "
        "lookup_failure_action: warn (or ignore) if a missing object is expected; shared@contoso.com: matches several "
        "users (else@contoso.com, other@contoso.com); name one by object id; check the selector, or set "
        "lookup_failure_action: warn (or ignore) if a missing object is expected")
    assert result["error"]["kind"] == "lookup"
    assert result["error"]["selectors"] == ["nobody@contoso.com", "shared@contoso.com"]
    assert [u["found"] for u in result["users"]] == [True, False, False]


@pytest.mark.parametrize("action,warned", [("warn", 2), ("ignore", 0)])
def test_warn_and_ignore_keep_the_not_found_entries(action, warned):
    result = info(shared_tenant(), users=["nobody@contoso.com", "shared@contoso.com"], lookup_failure_action=action)
    assert not result.get("failed") and result["changed"] is False
    assert [(u["found"], u.get("candidates")) for u in result["users"]] == [
        (False, None), (False, ["else@contoso.com", "other@contoso.com"])]
    assert len(result["warnings"]) == warned
    assert all("lookup_failure_action: warn" in w for w in result["warnings"])


def test_roles_are_objects_with_their_names_read_in_one_list():
    graph = tenant()
    graph.roles[A1] = [ADMIN_ROLE, "00000000-0000-4000-8000-0000000000cc"]
    result = info(graph, users=["admin@contoso.com", "plain@contoso.com", "vp@contoso.com"])
    admin, plain, vp = result["users"]
    assert admin["roles"] == {"active": [{"id": ADMIN_ROLE, "displayName": "Global Administrator"}], "eligible": []}
    assert plain["roles"]["active"] == [{"id": "00000000-0000-4000-8000-0000000000cc", "displayName": None},
                                        {"id": ADMIN_ROLE, "displayName": "Global Administrator"}]
    assert vp["roles"] == {"active": [], "eligible": []}
    assert graph.role_name_lists == 1


def test_nobody_holding_a_role_reads_no_role_names():
    graph = tenant()
    result = info(graph, users=["plain@contoso.com"])
    assert result["users"][0]["roles"] == {"active": [], "eligible": []} and graph.role_name_lists == 0

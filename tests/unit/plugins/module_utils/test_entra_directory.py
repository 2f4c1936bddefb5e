"""The Graph adapter's bulk reads, against a fake client that answers like Graph."""

from urllib.parse import unquote_plus

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphError

NEXT = "https://graph.microsoft.com/v1.0/users/u1/memberOf?$skiptoken=page2"


class FakeGraph:
    """``batch`` answers from ``answers`` (a function of the request); ``get`` from ``pages``."""

    def __init__(self, answers, pages=None, refuse_select=None):
        self.answers, self.pages, self.refuse_select = answers, pages or {}, refuse_select
        self.gets, self.batched = [], []

    def _refused(self, url):
        if self.refuse_select and self.refuse_select in url:
            return GraphError(400, "BadRequest", "Parsing OData Select and Expand failed: Could not find a property "
                                                 "named '%s' on type 'microsoft.graph.user'." % self.refuse_select)
        return None

    def batch(self, requests):
        self.batched.extend(requests)
        return [self.answers(r) for r in requests]

    def get(self, path, params=None, advanced=False, **context):
        self.gets.append((path, advanced))
        return self.pages[path]

    def iterate(self, path, params=None, **context):
        refused = self._refused(params.get("$select", ""))
        if refused:
            raise refused
        yield from self.pages[path]["value"]


def listed(*values):
    """A $batch answer holding a collection."""
    return {"status": 200, "headers": {}, "body": {"value": list(values)}}


def refused(status, code, message="refused by the test"):
    return {"status": status, "headers": {}, "body": {"error": {"code": code, "message": message}}}


def test_a_batched_collection_is_read_to_its_last_page():
    def answers(request):
        return {"status": 200, "headers": {}, "body": {"value": [{"id": "g1", "displayName": "One"}],
                                                       "@odata.nextLink": NEXT}}
    graph = FakeGraph(answers, {NEXT: {"value": [{"id": "g2", "displayName": "Two"}]}})
    memberships = directory.group_memberships(graph, ["u1"])
    assert [m["id"] for m in memberships["u1"]] == ["g1", "g2"]
    assert graph.gets == [(NEXT, False)]


def test_later_pages_of_an_advanced_query_keep_consistency_level():
    def answers(request):
        return {"status": 200, "headers": {}, "body": {"value": [], "@odata.nextLink": NEXT}}
    graph = FakeGraph(answers, {NEXT: {"value": [{"id": "u9", "onPremisesImmutableId": "QQ=="}]}})
    holders = directory.anchor_holders(graph, ["QQ=="])
    assert [h["id"] for h in holders["QQ=="]] == ["u9"]
    assert graph.gets == [(NEXT, True)]


def test_a_batch_without_an_answer_for_a_request_names_it():
    graph = FakeGraph(lambda request: None)
    with pytest.raises(GraphError, match="read licenses /users/u1/licenseDetails.*no answer for this request"):
        directory.license_details(graph, ["u1"])


def test_a_refused_item_is_a_graph_error_naming_the_request():
    graph = FakeGraph(lambda request: {"status": 403, "headers": {"request-id": "r1"},
                                       "body": {"error": {"code": "Authorization_RequestDenied", "message": "no"}}})
    with pytest.raises(GraphError, match="read active directory roles /roleManagement/directory/roleAssignments"
                                         ".*403 Authorization_RequestDenied.*r1"):
        directory.role_holdings(graph, ["u1"])


def test_users_are_read_again_without_an_optional_property_graph_does_not_know():
    def answers(request):
        if "onPremisesObjectIdentifier" in request["url"]:
            return {"status": 400, "headers": {}, "body": {"error": {
                "code": "BadRequest", "message": "Could not find a property named 'onPremisesObjectIdentifier' on type "
                                                 "'microsoft.graph.user'."}}}
        return {"status": 200, "headers": {}, "body": {"value": [{"id": "u1", "userPrincipalName": "vp@contoso.com"}]}}
    graph = FakeGraph(answers)
    lookup = directory.find_users(graph, ["vp@contoso.com"])
    assert lookup.found["vp@contoso.com"]["id"] == "u1"
    assert "onPremisesObjectIdentifier" not in lookup.found["vp@contoso.com"]
    assert [("onPremisesObjectIdentifier" in r["url"]) for r in graph.batched] == [True, False]


def test_the_recycle_bin_is_read_again_without_an_optional_property():
    path = "/directory/deletedItems/microsoft.graph.user"
    graph = FakeGraph(None, {path: {"value": [{"id": "d1"}]}}, refuse_select="onPremisesObjectIdentifier")
    assert directory.deleted_users(graph) == [{"id": "d1"}]


def test_any_other_refused_property_is_not_retried():
    def answers(request):
        return {"status": 400, "headers": {}, "body": {"error": {
            "code": "BadRequest", "message": "Could not find a property named 'mail' on type 'microsoft.graph.user'."}}}
    graph = FakeGraph(answers)
    with pytest.raises(GraphError, match="Could not find a property named 'mail'"):
        directory.find_users(graph, ["vp@contoso.com"])
    assert len(graph.batched) == 1


def test_sync_features_are_unknown_when_the_app_may_not_read_them():
    class Refusing:
        def get(self, path, **context):
            raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges", operation="read")
    assert directory.sync_features(Refusing()) is None

    class Answering:
        def get(self, path, **context):
            return {"value": [{"id": "t1", "features": {"blockSoftMatchEnabled": True}}]}
    assert directory.sync_features(Answering()) == {"blockSoftMatchEnabled": True}


def test_a_tenant_without_p2_has_no_eligible_roles_but_its_active_ones_count():
    def answers(request):
        if "roleEligibilityScheduleInstances" in request["url"]:
            return {"status": 400, "headers": {}, "body": {"error": {
                "code": "AadPremiumLicenseRequired",
                "message": "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license."}}}
        return {"status": 200, "headers": {}, "body": {"value": [{"principalId": "u1", "roleDefinitionId": "62e90394"}]}}
    assert directory.role_holdings(FakeGraph(answers), ["u1"]) == {"u1": {"active": ["62e90394"], "eligible": []}}


def test_a_role_held_through_a_role_assignable_group_counts_for_its_members():
    def answers(request):
        url = unquote_plus(request["url"])
        if "roleAssignments" in url:
            return listed({"principalId": "g-admins", "roleDefinitionId": "62e90394"},
                          {"principalId": "sp-backup", "roleDefinitionId": "62e90394"})
        if url.startswith("/groups/g-admins/members"):
            return listed({"id": "u1"}, {"id": "u2"}, {"id": "u9"})
        if url.startswith("/groups/sp-backup/members"):  # a service principal: no group
            return refused(404, "Request_ResourceNotFound", "Resource 'sp-backup' does not exist")
        return listed()
    graph = FakeGraph(answers)
    assert directory.role_holdings(graph, ["u1", "u2", "u3"]) == {
        "u1": {"active": ["62e90394"], "eligible": []}, "u2": {"active": ["62e90394"], "eligible": []},
        "u3": {"active": [], "eligible": []}}
    assert [unquote_plus(r["url"]) for r in graph.batched if "/members" in r["url"]] == [
        "/groups/g-admins/members?$select=id", "/groups/sp-backup/members?$select=id"]


@pytest.mark.parametrize("refusing, status, operation", [
    ("roleEligibilityScheduleInstances", 403, "read eligible directory roles"),
    ("/members", 400, "read role group members /groups/g1/members"),
    # no right to read groups, nor the user's memberships
    ("/member", 403, "read memberships /users/u1/memberOf"),
])
def test_any_other_refusal_of_a_role_read_is_an_error(refusing, status, operation):
    def answers(request):
        if refusing in request["url"]:
            return refused(status, "Authorization_RequestDenied", "Insufficient privileges")
        return listed({"principalId": "g1", "roleDefinitionId": "r"}) if "roleAssignments" in request["url"] else listed()
    with pytest.raises(GraphError, match="%s.*%d Authorization_RequestDenied" % (operation, status)):
        directory.role_holdings(FakeGraph(answers), ["u1"])


RECYCLE_BIN = "/directory/deletedItems/microsoft.graph.user"


class CountingRecycleBin(FakeGraph):
    def __init__(self, answers, pages):
        super(CountingRecycleBin, self).__init__(answers, pages)
        self.bin_reads = 0

    def iterate(self, path, params=None, **context):
        self.bin_reads += path == RECYCLE_BIN
        return super(CountingRecycleBin, self).iterate(path, params, **context)


def test_selectors_are_sorted_into_active_recycle_bin_gone_and_ambiguous_with_one_read_of_the_bin():
    from urllib.parse import unquote_plus

    def answers(request):
        url = unquote_plus(request["url"])
        users = []
        if "userPrincipalName in" in url and "'vp@contoso.com'" in url:
            users = [{"id": "a1", "userPrincipalName": "vp@contoso.com"}]
        elif "smtp:shared@contoso.com" in url:
            users = [{"id": "a2", "userPrincipalName": "b@contoso.com", "proxyAddresses": ["smtp:shared@contoso.com"]},
                     {"id": "a3", "userPrincipalName": "a@contoso.com", "proxyAddresses": ["SMTP:Shared@contoso.com"]}]
        return {"status": 200, "headers": {}, "body": {"value": users}}
    binned = {"id": "d1", "userPrincipalName": "0123456789abcdef0123456789abcdefgone@contoso.com"}
    twins = [{"id": "d3", "mail": "twice@contoso.com"}, {"id": "d2", "mail": "twice@contoso.com"}]
    graph = CountingRecycleBin(answers, {RECYCLE_BIN: {"value": [binned] + twins}})
    located = directory.locate_users(graph, ["vp@contoso.com", "gone@contoso.com", "never@contoso.com",
                                             "shared@contoso.com", "twice@contoso.com"])
    assert located.found == {"vp@contoso.com": ("active", {"id": "a1", "userPrincipalName": "vp@contoso.com"}),
                             "gone@contoso.com": ("deleted", binned), "never@contoso.com": ("gone", None)}
    assert located.problems() == [
        "shared@contoso.com matches several active users (a@contoso.com, b@contoso.com); name one by object id",
        "twice@contoso.com matches several soft-deleted users (d2, d3); name one by object id"]
    assert graph.bin_reads == 1

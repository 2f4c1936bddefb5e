"""The Graph adapter's bulk reads, against a fake client that answers like Graph."""

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils import entra_directory as directory
from ansible_collections.syncfix.entra.plugins.module_utils.graph_client import GraphError

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
    with pytest.raises(GraphError, match="read active directory roles /roleManagement.*403 Authorization_RequestDenied.*r1"):
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
        return {"status": 200, "headers": {}, "body": {"value": [{"roleDefinitionId": "62e90394"}]}}
    assert directory.role_holdings(FakeGraph(answers), ["u1"]) == {"u1": {"active": ["62e90394"], "eligible": []}}


def test_any_other_refusal_of_eligibilities_is_an_error():
    def answers(request):
        if "roleEligibilityScheduleInstances" in request["url"]:
            return {"status": 403, "headers": {}, "body": {"error": {"code": "Authorization_RequestDenied",
                                                                     "message": "Insufficient privileges"}}}
        return {"status": 200, "headers": {}, "body": {"value": []}}
    with pytest.raises(GraphError, match="read eligible directory roles.*Authorization_RequestDenied"):
        directory.role_holdings(FakeGraph(answers), ["u1"])


class Purging:
    def __init__(self, misses):
        self.misses, self.calls = misses, 0

    def request(self, method, path, **context):
        self.calls += 1
        if self.calls <= self.misses:
            raise GraphError(404, "Request_ResourceNotFound", "Resource does not exist", operation="purge user")


def test_a_purge_right_after_the_delete_waits_for_the_recycle_bin():
    sleeps = []
    graph = Purging(misses=2)
    directory.purge_deleted_user(graph, "u1", "vp@contoso.com", just_deleted=True, sleep=sleeps.append)
    assert graph.calls == 3 and sleeps == [1, 2]


def test_a_purge_that_never_finds_the_user_says_it_was_soft_deleted():
    sleeps = []
    with pytest.raises(GraphError, match="soft-deleted but did not appear in the recycle bin within 15 s"):
        directory.purge_deleted_user(Purging(misses=9), "u1", "vp", just_deleted=True, sleep=sleeps.append)
    assert sleeps == [1, 2, 4, 8]


def test_a_purge_of_a_user_already_in_the_bin_does_not_wait_on_404():
    sleeps = []
    with pytest.raises(GraphError, match="404 Request_ResourceNotFound"):
        directory.purge_deleted_user(Purging(misses=1), "u1", "vp", sleep=sleeps.append)
    assert sleeps == []

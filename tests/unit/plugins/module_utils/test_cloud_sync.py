import pytest

from ansible_collections.syncfix.entra.plugins.module_utils.adsync_connect import AdsyncError
from ansible_collections.syncfix.entra.plugins.module_utils.cloud_sync import (
    CloudSyncJob, execution_failed, on_demand_failed, on_demand_outcome)
from ansible_collections.syncfix.entra.plugins.module_utils.graph_client import GraphError

OLD = {"activityIdentifier": "a1", "timeBegan": "2026-11-22T09:00:00Z", "timeEnded": "2026-11-22T09:00:05Z",
       "state": "Succeeded"}
NEW_RUNNING = {"activityIdentifier": "a2", "timeBegan": "2026-11-22T10:00:00Z", "timeEnded": None}
NEW_DONE = dict(NEW_RUNNING, timeEnded="2026-11-22T10:00:07Z", state="EntryLevelErrors")


class FakeGraph:
    def __init__(self, executions, refuse=()):
        self.executions = list(executions)
        self.requests = []
        self.refuse = set(refuse)

    def request(self, method, path, body=None, **context):
        self.requests.append((method, path, body))
        if path.endswith("/schema"):
            return {"synchronizationRules": [{"id": "rule-1"}]}
        if method == "GET":
            execution = self.executions.pop(0) if len(self.executions) > 1 else self.executions[0]
            return {"status": {"lastExecution": execution}}
        if path.endswith("provisionOnDemand"):
            if body["parameters"][0]["subjects"][0]["objectId"] in self.refuse:
                raise GraphError(400, "BadRequest", "refused", operation="provision on demand", target="x")
            return {"key": "{\"result\":\"Success\",\"details\":{}}",
                    "value": "{\"statusInfo\":{\"status\":\"Success\"},\"provisioningSteps\":[]}"}
        return None


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def job(graph, clock):
    return CloudSyncJob(graph, "sp1", "job1", clock=clock, sleep=clock.sleep)


def test_waits_for_an_execution_other_than_the_previous_one_to_end():
    graph, clock = FakeGraph([OLD, NEW_RUNNING, NEW_DONE]), Clock()
    execution = job(graph, clock).wait_for_new_execution(OLD, timeout=60, poll=5)
    assert execution == NEW_DONE and clock.sleeps == [5, 5]
    assert execution_failed(execution)


def test_timeout_names_the_job():
    graph, clock = FakeGraph([OLD]), Clock()
    with pytest.raises(AdsyncError, match="synchronization job job1 of service principal sp1: no new execution"):
        job(graph, clock).wait_for_new_execution(OLD, timeout=20, poll=5)


def test_provision_on_demand_is_paced_five_per_ten_seconds_and_uses_the_schema_rule():
    graph, clock = FakeGraph([OLD]), Clock()
    cloud = job(graph, clock)
    rule = cloud.rule_id()
    results = cloud.provision_on_demand(["CN=u%d,DC=contoso,DC=test" % i for i in range(7)], rule)
    posts = [r for r in graph.requests if r[0] == "POST"]
    assert len(posts) == 7 and posts[0][2]["parameters"][0]["ruleId"] == "rule-1"
    assert posts[0][2]["parameters"][0]["subjects"] == [{"objectId": "CN=u0,DC=contoso,DC=test", "objectTypeName": "user"}]
    assert clock.sleeps == [10.0]  # the sixth request waited for the window
    assert [r["object"] for r in results][-1] == "CN=u6,DC=contoso,DC=test"


def test_start_posts_to_the_job():
    graph, clock = FakeGraph([OLD]), Clock()
    job(graph, clock).start()
    assert graph.requests == [("POST", "/servicePrincipals/sp1/synchronization/jobs/job1/start", None)]


# The two answers "synchronizationJob: provisionOnDemand" shows, shortened: key and value are
# JSON documents inside strings.
SKIPPED = {"key": '{"result":"Skipped","details":{"errorCode":"RedundantExport","errorMessage":"The state of the '
                  'user in both the source and target systems already match."}}',
           "value": '{"provisioningSteps":[{"name":"EntrySynchronizationSkip","status":"Skipped"}],'
                    '"statusInfo":{"status":"Skipped","errorCode":null,"reason":null}}'}
SUCCESS = {"key": '{"result":"Success","details":{}}',
           "value": '{"provisioningSteps":[{"name":"EntryImportAdd","type":"Import","status":"Success"}]}'}
FAILURE = {"key": '{"result":"Failure","details":{"errorCode":"AzureActiveDirectoryConflictingObjectFound",'
                  '"errorMessage":"Another object holds the address."}}',
           "value": '{"statusInfo":{"status":"Failure"}}'}


def test_on_demand_outcome_reads_the_documented_key_and_value():
    skipped = on_demand_outcome(SKIPPED)
    assert skipped["status"] == "Skipped"
    assert skipped["error"].startswith("RedundantExport: The state of the user")
    assert skipped["details"]["provisioningSteps"][0]["name"] == "EntrySynchronizationSkip"
    assert on_demand_outcome(SUCCESS) == {"status": "Success", "error": None,
                                          "details": {"provisioningSteps": [{"name": "EntryImportAdd", "type": "Import",
                                                                             "status": "Success"}]}}
    failure = on_demand_outcome(FAILURE)
    assert (failure["status"], failure["error"]) == (
        "Failure", "AzureActiveDirectoryConflictingObjectFound: Another object holds the address.")


def test_on_demand_outcome_keeps_text_that_is_not_json():
    outcome = on_demand_outcome({"value": "not json"})
    assert outcome == {"status": None, "error": None, "details": "not json"}


def test_failed_objects_are_those_neither_successful_nor_skipped():
    results = [dict(on_demand_outcome(answer), object=name)
               for name, answer in (("ok", SUCCESS), ("same", SKIPPED), ("bad", FAILURE), ("silent", {}))]
    results.append({"object": "refused", "status": "Error", "error": "400", "details": None})
    assert on_demand_failed(results) == ["bad", "silent", "refused"]


def test_a_refused_object_is_recorded_and_the_others_still_run():
    graph, clock = FakeGraph([OLD], refuse={"CN=u1,DC=contoso,DC=test"}), Clock()
    results = job(graph, clock).provision_on_demand(["CN=u%d,DC=contoso,DC=test" % i for i in range(3)], "rule-1")
    assert [r["status"] for r in results] == ["Success", "Error", "Success"]
    assert "refused" in results[1]["error"] and results[1]["object"] == "CN=u1,DC=contoso,DC=test"
    assert on_demand_failed(results) == ["CN=u1,DC=contoso,DC=test"]

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils.adsync_connect import AdsyncError
from ansible_collections.syncfix.entra.plugins.module_utils.cloud_sync import CloudSyncJob, execution_failed

OLD = {"activityIdentifier": "a1", "timeBegan": "2026-11-22T09:00:00Z", "timeEnded": "2026-11-22T09:00:05Z",
       "state": "Succeeded"}
NEW_RUNNING = {"activityIdentifier": "a2", "timeBegan": "2026-11-22T10:00:00Z", "timeEnded": None}
NEW_DONE = dict(NEW_RUNNING, timeEnded="2026-11-22T10:00:07Z", state="EntryLevelErrors")


class FakeGraph:
    def __init__(self, executions):
        self.executions = list(executions)
        self.requests = []

    def request(self, method, path, body=None, **context):
        self.requests.append((method, path, body))
        if path.endswith("/schema"):
            return {"synchronizationRules": [{"id": "rule-1"}]}
        if method == "GET":
            execution = self.executions.pop(0) if len(self.executions) > 1 else self.executions[0]
            return {"status": {"lastExecution": execution}}
        return {"value": "{\"status\":\"success\"}"} if path.endswith("provisionOnDemand") else None


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

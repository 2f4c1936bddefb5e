import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._winrm.connect import AdsyncError
from ansible_collections.syncfix.entra.plugins.module_utils._graph.cloud_sync import (
    REFUSE, START, WAIT, CloudSyncJob, execution_failed, job_state, on_demand_failed, on_demand_outcome, plan_job_run)
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphError
from ansible_collections.syncfix.entra.plugins.module_utils._backends.adsync_cycle import run_cloud_sync

OLD = {"activityIdentifier": "a1", "timeBegan": "2026-11-22T09:00:00Z", "timeEnded": "2026-11-22T09:00:05Z",
       "state": "Succeeded"}
NEW_RUNNING = {"activityIdentifier": "a2", "timeBegan": "2026-11-22T10:00:00Z", "timeEnded": None}
NEW_DONE = dict(NEW_RUNNING, timeEnded="2026-11-22T10:00:07Z", state="EntryLevelErrors")


class FakeGraph:
    def __init__(self, executions, refuse=(), status=None, schedule=None):
        self.executions = list(executions)
        self.requests = []
        self.refuse = set(refuse)
        self.status = status or {}
        self.schedule = schedule or {"interval": "PT2M", "state": "Active"}

    def request(self, method, path, body=None, **context):
        self.requests.append((method, path, body))
        if path.endswith("/schema"):
            return {"synchronizationRules": [{"id": "rule-1"}]}
        if method == "GET":
            execution = self.executions.pop(0) if len(self.executions) > 1 else self.executions[0]
            return {"status": dict(self.status, lastExecution=execution), "schedule": self.schedule}
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


# --- what engine=cloud_sync does with the job, per status code ---------------------------------
# "synchronizationJob: start": don't start a job while it runs; start only a paused or
# quarantined one. "synchronizationStatus resource type": the codes.

LABEL = "synchronization job job1 of service principal sp1"
QUARANTINED = {"code": "Quarantine", "quarantine": {"reason": "TooManyDeletes", "currentBegan": "2026-11-22T08:00:00Z",
                                                    "error": {"code": "TooManyDeletes", "message": "The job would delete 600 users."}}}
DONE = dict(NEW_RUNNING, timeEnded="2026-11-22T10:00:07Z", state="Succeeded")


def state(code, schedule_state="Active", **status):
    return job_state({"status": dict(status, code=code), "schedule": {"interval": "PT2M", "state": schedule_state}})


@pytest.mark.parametrize("code, allow_resume, action, words", [
    ("Active", False, WAIT, ["is Active", "every PT2M"]),
    ("Active", True, WAIT, ["is Active"]),
    ("NotRun", False, START, ["NotRun", "first run"]),
    ("Paused", False, REFUSE, ["is Paused", "resumes it", "allow_resume: true"]),
    ("Paused", True, START, ["is Paused", "resumes it"]),
    ("Quarantine", True, START, ["in Quarantine", "clears the quarantine"]),
    ("NotConfigured", True, REFUSE, ["NotConfigured", "nothing to start", "configure"]),
    ("Starting", True, REFUSE, ["'Starting'", "not started"]),
    (None, True, REFUSE, ["None", "not started"]),
])
def test_the_decision_per_status_code(code, allow_resume, action, words):
    planned, why = plan_job_run(state(code), LABEL, allow_resume)
    assert planned == action, why
    assert why.startswith(LABEL)
    for word in words:
        assert word in why, why


def test_a_quarantine_is_refused_with_its_reason_and_the_option():
    planned, why = plan_job_run(job_state({"status": QUARANTINED}), LABEL, False)
    assert planned == REFUSE
    assert "in Quarantine (reason TooManyDeletes: The job would delete 600 users.)" in why, why
    assert "clears the quarantine" in why and "allow_resume: true" in why


def test_an_active_job_whose_schedule_is_not_active_is_not_waited_for_forever():
    planned, why = plan_job_run(state("Active", schedule_state="Disabled"), LABEL, True)
    assert planned == REFUSE and "schedule is Disabled" in why and "provision_objects" in why, why


class Refused(Exception):
    pass


class FakeEntra:
    """What run_cloud_sync uses of EntraModule: the client, check mode and fail."""

    def __init__(self, graph, check_mode=False):
        self.client = graph
        self.check_mode = check_mode

    def fail(self, msg, **result):
        raise Refused(msg, result)


def params(**options):
    return dict(dict(service_principal_id="sp1", job_id="job1", provision_objects=None, rule_id=None, object_type="user",
                     allow_resume=False, wait=True, timeout=5, poll_interval=0, fail_on_errors=True), **options)


def posts(graph):
    return [path for method, path, _body in graph.requests if method == "POST"]


def test_an_active_job_is_not_started_and_its_next_scheduled_execution_is_returned():
    graph = FakeGraph([OLD, OLD, NEW_RUNNING, DONE], status={"code": "Active"})
    result, failed = run_cloud_sync(FakeEntra(graph), params())
    assert posts(graph) == [], "an Active job runs on its schedule; start is not called"
    assert not failed and result["execution"] == DONE and result["previous_execution"] == OLD
    assert (result["changed"], result["cycle_started"]) == (False, False)
    assert (result["job_status"], result["schedule_interval"]) == ("Active", "PT2M")
    assert "is Active" in result["msg"] and "every PT2M" in result["msg"] and "provision_objects" in result["msg"]


def test_an_active_job_without_wait_reads_only():
    graph = FakeGraph([OLD], status={"code": "Active"})
    result, _failed = run_cloud_sync(FakeEntra(graph), params(wait=False))
    assert graph.requests == [("GET", "/servicePrincipals/sp1/synchronization/jobs/job1", None)]
    assert result["changed"] is False and "execution" not in result and "not waiting" in result["msg"]


@pytest.mark.parametrize("status", [{"code": "Paused"}, QUARANTINED])
def test_a_paused_or_quarantined_job_is_refused_without_allow_resume_and_nothing_is_sent(status):
    graph = FakeGraph([OLD], status=status)
    with pytest.raises(Refused) as refused:
        run_cloud_sync(FakeEntra(graph), params())
    msg, result = refused.value.args
    assert posts(graph) == []
    assert LABEL in msg and status["code"] in msg and "allow_resume: true" in msg, msg
    assert result["job_status"] == status["code"] and result["changed"] is False


@pytest.mark.parametrize("status", [{"code": "Paused"}, QUARANTINED, {"code": "NotRun"}])
def test_allow_resume_or_a_first_run_starts_the_job_once_and_waits(status):
    graph = FakeGraph([OLD, OLD, DONE], status=status)
    result, failed = run_cloud_sync(FakeEntra(graph), params(allow_resume=status["code"] != "NotRun"))
    assert posts(graph) == ["/servicePrincipals/sp1/synchronization/jobs/job1/start"]
    assert not failed and (result["changed"], result["cycle_started"]) == (True, True)
    assert result["execution"] == DONE and result["msg"].startswith("started (") and "Succeeded" in result["msg"]


def test_a_not_configured_job_fails_even_with_allow_resume():
    graph = FakeGraph([{}], status={"code": "NotConfigured"})
    with pytest.raises(Refused, match="NotConfigured: there is nothing to start"):
        run_cloud_sync(FakeEntra(graph), params(allow_resume=True))
    assert posts(graph) == []


@pytest.mark.parametrize("status, allow_resume, changed, words", [
    ({"code": "Active"}, False, False, "would not start it, would wait for its next scheduled execution"),
    ({"code": "NotRun"}, False, True, "would start the job"),
    ({"code": "Paused"}, True, True, "would start the job"),
    (QUARANTINED, True, True, "would start the job"),
])
def test_check_mode_reads_only_and_is_changed_only_when_a_real_run_would_start(status, allow_resume, changed, words):
    graph = FakeGraph([OLD], status=status)
    result, failed = run_cloud_sync(FakeEntra(graph, check_mode=True), params(allow_resume=allow_resume))
    assert [method for method, _path, _body in graph.requests] == ["GET"]
    assert not failed and result["changed"] is changed and result["cycle_started"] is False
    assert words in result["msg"], result["msg"]


def test_check_mode_refuses_what_a_real_run_would_refuse():
    graph = FakeGraph([OLD], status={"code": "Paused"})
    with pytest.raises(Refused, match="is Paused"):
        run_cloud_sync(FakeEntra(graph, check_mode=True), params())
    assert posts(graph) == []


def test_provision_objects_does_not_depend_on_the_job_state():
    graph = FakeGraph([OLD], status={"code": "Paused"})
    result, failed = run_cloud_sync(FakeEntra(graph), params(provision_objects=["CN=u0,DC=contoso,DC=test"]))
    assert posts(graph) == ["/servicePrincipals/sp1/synchronization/jobs/job1/provisionOnDemand"]
    assert not failed and result["provisioned"][0]["status"] == "Success" and result["job_status"] == "Paused"

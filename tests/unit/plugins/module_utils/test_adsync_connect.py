"""The Entra Connect engine against a fake server that answers as the ADSync cmdlets do."""

import json

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._winrm.connect import (
    READ_SCHEDULER, RUN_RESULTS, START_CYCLE, AdsyncError, ConnectEngine, parse_json,
)

EXPORT_ERRORS = {"RunHistoryId": "r2", "ConnectorName": "contoso.onmicrosoft.com - AAD", "RunProfileName": "Export",
                 "Result": "completed-export-errors", "StartDate": "2026-11-22T10:00:05Z",
                 "Steps": [{"StepNumber": 1, "StepResult": "completed-export-errors", "ExportUpdate": 3,
                            "ExportFailure": 1}]}
SUCCESS = {"RunHistoryId": "r1", "ConnectorName": "contoso.test", "RunProfileName": "Delta Import",
           "Result": "success", "StartDate": "2026-11-22T10:00:01Z", "Steps": []}


class FakeServer:
    """Get-ADSyncScheduler / Start-ADSyncSyncCycle / Get-ADSyncRunProfileResult, scripted.

    ``running_polls``: how many scheduler reads report a cycle in progress before it ends.
    ``busy_starts``: how many Start calls throw "AAD is busy." first.
    """

    def __init__(self, staging=False, running_polls=0, busy_starts=0, runs=(SUCCESS,), enabled=True,
                 runs_appear_after=0, warnings=""):
        self.staging = staging
        self.running_polls = running_polls
        self.busy_starts = busy_starts
        self.runs = list(runs)
        self.enabled = enabled
        self.runs_appear_after = runs_appear_after
        self.warnings = warnings
        self.calls = []

    def run(self, script):
        if script == READ_SCHEDULER:
            self.calls.append("scheduler")
            in_progress = self.running_polls > 0
            self.running_polls = max(0, self.running_polls - 1)
            return self.warnings + json.dumps({
                "SyncCycleEnabled": self.enabled, "SyncCycleInProgress": in_progress,
                "StagingModeEnabled": self.staging, "MaintenanceEnabled": False, "SchedulerSuspended": False,
                "NextSyncCyclePolicyType": "Delta", "NextSyncCycleStartTimeInUTC": "11/22/2026 10:30:00"})
        if script in (START_CYCLE % "Delta", START_CYCLE % "Initial"):
            self.calls.append("start " + ("Delta" if "Delta" in script else "Initial"))
            if self.busy_starts:
                self.busy_starts -= 1
                return json.dumps({"Error": "System.InvalidOperationException: Connector: contoso.onmicrosoft.com "
                                            "- AAD is busy.", "StartedUtc": "2026-11-22T10:00:00Z"})
            self.running_polls = 2
            return json.dumps({"Result": "Success", "StartedUtc": "2026-11-22T10:00:00Z"})
        if script == RUN_RESULTS % "2026-11-22T10:00:00Z":
            self.calls.append("runs")
            if self.runs_appear_after:
                self.runs_appear_after -= 1
                return "[]"
            return json.dumps(self.runs)
        raise AssertionError("unexpected script: %s" % script[:80])


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def engine(server):
    clock = Clock()
    return ConnectEngine(server, clock=clock, sleep=clock.sleep)


def test_delta_cycle_started_waited_and_results_read():
    server = FakeServer()
    result = engine(server).run(policy="delta", poll=5)
    assert result["changed"] and result["cycle_started"] and result["failed_runs"] == []
    assert [r["RunProfileName"] for r in result["runs"]] == ["Delta Import"]
    assert server.calls[:2] == ["scheduler", "start Delta"] and server.calls[-1] == "runs"


def test_initial_policy_is_passed_through():
    server = FakeServer()
    engine(server).run(policy="initial")
    assert "start Initial" in server.calls


def test_staging_server_is_refused_with_the_explanation():
    server = FakeServer(staging=True)
    with pytest.raises(AdsyncError) as e:
        engine(server).run()
    assert "staging mode" in str(e.value) and "never exports" in str(e.value) and "allow_staging" in str(e.value)
    assert server.calls == ["scheduler"]


def test_staging_server_allowed_by_name():
    assert engine(FakeServer(staging=True)).run(allow_staging=True)["cycle_started"]


def test_running_cycle_with_if_running_fail_is_refused_before_any_start():
    server = FakeServer(running_polls=5)
    with pytest.raises(AdsyncError, match="already running and if_running is fail"):
        engine(server).run(if_running="fail")
    assert not any(c.startswith("start") for c in server.calls)


def test_running_cycle_with_if_running_skip_starts_nothing():
    server = FakeServer(running_polls=5)
    result = engine(server).run(if_running="skip")
    assert not result["changed"] and "skipped" in result["msg"]
    assert not any(c.startswith("start") for c in server.calls)


def test_running_cycle_is_waited_for_then_ours_starts():
    server = FakeServer(running_polls=3)
    result = engine(server).run(if_running="wait", poll=5)
    assert result["cycle_started"]
    assert server.calls.index("start Delta") > 3  # three busy polls came first


def test_busy_race_at_start_waits_and_retries_once():
    server = FakeServer(busy_starts=1)
    result = engine(server).run(poll=5)
    assert result["cycle_started"] and server.calls.count("start Delta") == 2


def test_busy_at_start_with_fail_policy_names_the_cmdlet_message():
    with pytest.raises(AdsyncError, match="AAD is busy"):
        engine(FakeServer(busy_starts=1)).run(if_running="fail")


def test_export_errors_are_reported_as_failed_runs():
    result = engine(FakeServer(runs=[SUCCESS, EXPORT_ERRORS])).run()
    assert [r["Result"] for r in result["failed_runs"]] == ["completed-export-errors"]
    assert "1 not successful" in result["msg"]


def test_runs_recorded_late_are_waited_for():
    server = FakeServer(runs_appear_after=2)
    assert engine(server).run(poll=5)["runs"] == [SUCCESS]
    assert server.calls.count("runs") == 3


def test_timeout_while_waiting_fails_clearly():
    server = FakeServer(running_polls=1000)
    with pytest.raises(AdsyncError, match="still running when the timeout ran out"):
        engine(server).run(timeout=60, poll=10)


def test_check_mode_reads_but_starts_nothing():
    server = FakeServer(running_polls=5)
    result = engine(server).run(check_mode=True)
    assert result["changed"] and not result["cycle_started"] and "after the running one ends" in result["msg"]
    assert server.calls == ["scheduler"]


def test_no_wait_returns_after_start():
    server = FakeServer()
    result = engine(server).run(wait=False)
    assert result["cycle_started"] and server.calls == ["scheduler", "start Delta"]


def test_disabled_scheduler_is_reported():
    assert "scheduler is disabled" in engine(FakeServer(enabled=False)).run()["notes"][0]


def test_json_is_found_after_warnings_and_garbage_is_refused():
    assert engine(FakeServer(warnings="WARNING: something\n")).run()["cycle_started"]
    with pytest.raises(AdsyncError, match="printed no JSON"):
        parse_json("Get-ADSyncScheduler : The term is not recognized", "Get-ADSyncScheduler")

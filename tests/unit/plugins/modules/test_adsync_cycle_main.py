"""adsync_cycle's main() offline with engine=connect: the WinRM client is a fake that answers
as the ADSync cmdlets do (as the fake server of test_adsync_connect), so the module's own
option handling, PsrpRunner and error path run for real."""

import json
from unittest import mock

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._winrm.connect import READ_SCHEDULER, RUN_RESULTS, START_CYCLE
from ansible_collections.syncfix.entra.plugins.module_utils._module.base import SyncfixModule
from ansible_collections.syncfix.entra.plugins.modules import adsync_cycle
from ansible_collections.syncfix.entra.plugins.module_utils._backends import adsync_cycle as _sync_cycle_runs

from module_runner import run_module

CONNECT = dict(engine="connect", winrm_server="aadc01.contoso.test", winrm_username="CONTOSO\\svc",
               winrm_password="secret",
               poll_interval=0, timeout=30)
STARTED = "2026-11-22T10:00:00Z"
SUCCESS = {"RunHistoryId": "r1", "ConnectorName": "contoso.test", "RunProfileName": "Delta Import",
           "Result": "success", "StartDate": "2026-11-22T10:00:01Z", "Steps": []}
EXPORT_ERRORS = {"RunHistoryId": "r2", "ConnectorName": "contoso.onmicrosoft.com - AAD", "RunProfileName": "Export",
                 "Result": "completed-export-errors", "StartDate": "2026-11-22T10:00:05Z", "Steps": []}


class ConnectServer:
    """Get-ADSyncScheduler, Start-ADSyncSyncCycle and Get-ADSyncRunProfileResult, scripted."""

    def __init__(self, staging=False, runs=(SUCCESS,), remote_error=None):
        self.staging = staging
        self.runs = list(runs)
        self.remote_error = remote_error
        self.running_polls = 0
        self.calls = []
        self.client_options = None

    def client(self, server, **options):
        """Stands in for ``pypsrp.client.Client``."""
        self.client_options = dict(options, server=server)
        return self

    def execute_ps(self, script):
        if self.remote_error:
            return "", mock.Mock(error=[self.remote_error]), True
        return self.run(script), mock.Mock(error=[]), False

    def run(self, script):
        if script == READ_SCHEDULER:
            self.calls.append("scheduler")
            in_progress, self.running_polls = self.running_polls > 0, max(0, self.running_polls - 1)
            return json.dumps({"SyncCycleEnabled": True, "SyncCycleInProgress": in_progress,
                               "StagingModeEnabled": self.staging, "MaintenanceEnabled": False,
                               "SchedulerSuspended": False, "NextSyncCyclePolicyType": "Delta",
                               "NextSyncCycleStartTimeInUTC": "11/22/2026 10:30:00"})
        if script in (START_CYCLE % "Delta", START_CYCLE % "Initial"):
            self.calls.append("start")
            self.running_polls = 1
            return json.dumps({"Result": "Success", "StartedUtc": STARTED})
        if script == RUN_RESULTS % STARTED:
            self.calls.append("runs")
            return json.dumps(self.runs)
        raise AssertionError("unexpected script: %s" % script[:80])


def run(server, check_mode=False, **options):
    with mock.patch.object(_sync_cycle_runs, "PsrpClient", server.client):
        return run_module(adsync_cycle.main, dict(CONNECT, **options), check_mode=check_mode)


def test_a_staging_server_is_refused_with_an_adsync_error_and_nothing_starts():
    server = ConnectServer(staging=True)
    result = run(server)
    assert result["failed"] is True and "staging mode" in result["msg"] and "allow_staging: true" in result["msg"]
    assert result["error"]["kind"] == "adsync" and result["error"]["message"] == result["msg"]
    assert server.calls == ["scheduler"]


def test_a_cycle_is_started_waited_for_and_its_runs_returned():
    server = ConnectServer()
    result = run(server, winrm_ca_path="/etc/ssl/aadc-ca.pem")
    assert result["changed"] is True and result["cycle_started"] is True and result["runs"] == [SUCCESS]
    assert server.calls[:2] == ["scheduler", "start"] and server.calls[-1] == "runs"
    assert server.client_options["cert_validation"] == "/etc/ssl/aadc-ca.pem" and server.client_options["port"] == 5986


def test_check_mode_reads_the_scheduler_and_starts_nothing():
    server = ConnectServer()
    result = run(server, check_mode=True)
    assert result["changed"] is True and result["msg"] == "would start a delta cycle"
    assert server.calls == ["scheduler"]


def test_failed_runs_fail_the_task_unless_told_otherwise():
    failed = run(ConnectServer(runs=(SUCCESS, EXPORT_ERRORS)))
    assert failed["failed"] is True and "set fail_on_errors: false" in failed["msg"]
    assert failed["failed_runs"] == [EXPORT_ERRORS]
    reported = run(ConnectServer(runs=(SUCCESS, EXPORT_ERRORS)), fail_on_errors=False)
    assert "failed" not in reported and reported["failed_runs"] == [EXPORT_ERRORS]


def test_a_remote_powershell_error_carries_error():
    result = run(ConnectServer(remote_error="The term 'Get-ADSyncScheduler' is not recognized"))
    assert result["failed"] is True and result["error"]["kind"] == "adsync"
    assert "remote PowerShell failed: The term 'Get-ADSyncScheduler' is not recognized" in result["msg"]


@pytest.mark.parametrize("options,missing", [
    (dict(engine="connect"), "winrm_server"),
    (dict(engine="cloud_sync", job_id="j"), "service_principal_id"),
    (dict(CONNECT, winrm_auth="certificate", winrm_certificate_pem="/c.pem"), "winrm_certificate_key_pem"),
    (dict(CONNECT, provision_objects=["CN=a"]), "service_principal_id, job_id"),
])
def test_options_an_engine_needs_are_argument_errors_naming_them(options, missing):
    server = ConnectServer()
    with mock.patch.object(_sync_cycle_runs, "PsrpClient", server.client):
        result = run_module(adsync_cycle.main, options)
    assert result["failed"] is True and missing in result["msg"], result
    assert server.calls == [], "nothing was sent"


@pytest.mark.parametrize("options,validation", [
    (dict(winrm_ca_path="/etc/ssl/aadc-ca.pem"), "/etc/ssl/aadc-ca.pem"),
    (dict(winrm_ca_path="/etc/ssl/aadc-ca.pem", winrm_validate_certs=False), False),
    ({}, True),
])
def test_winrm_validate_certs_false_wins_over_a_ca_path(options, validation):
    server = ConnectServer()
    run(server, **options)
    assert server.client_options["cert_validation"] == validation


@pytest.mark.parametrize("error", [ConnectionRefusedError("connection refused"), RuntimeError("WinRM fault")])
def test_transport_failures_of_pypsrp_name_the_engine_and_type(error):
    server = ConnectServer()
    server.execute_ps = mock.Mock(side_effect=error)
    result = run(server)
    assert result["failed"] is True and result["msg"] == "engine=connect: %s: %s" % (type(error).__name__, error)


@pytest.mark.parametrize("options,warning", [
    (dict(winrm_ssl=False), "winrm_ssl is false"),
    (dict(winrm_validate_certs=False), "winrm_validate_certs is false"),
    ({}, None),
])
def test_weakened_winrm_transport_is_warned_about(options, warning):
    warned = []
    with mock.patch.object(SyncfixModule, "warn", lambda self, msg: warned.append(msg)):
        result = run(ConnectServer(), **options)
    assert result["changed"] is True
    assert [w for w in warned if "is false" in w] == ([] if warning is None else [mock.ANY])
    assert warning is None or warning in warned[0]

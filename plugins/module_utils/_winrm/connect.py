# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Start and watch an Entra Connect Sync cycle through PowerShell remoting.

The remote side is a few ADSync cmdlets that print one line of JSON each; everything else is
decided here, against a ``runner`` with one method, ``run(script) -> str``, so the rules are
tested with a fake runner and the module plugs in pypsrp.

Facts ("Microsoft Entra Connect Sync: Scheduler"; "Operation tasks and considerations:
staging mode"): ``Get-ADSyncScheduler`` reports SyncCycleEnabled, SyncCycleInProgress,
StagingModeEnabled, MaintenanceEnabled, SchedulerSuspended, NextSyncCyclePolicyType and
NextSyncCycleStartTimeInUTC.  A server in staging mode imports and synchronizes but never
exports, so a cycle there changes nothing in the cloud.  ``Start-ADSyncSyncCycle`` throws
"... AAD is busy." while a cycle runs.  ``Get-ADSyncRunProfileResult`` lists runs with a
Result such as ``success`` or ``completed-export-errors``; anything but success is a finding.
"""

import json
import time
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import SyncfixError

POLICIES = {"delta": "Delta", "initial": "Initial"}
IF_RUNNING = ("wait", "skip", "fail")

READ_SCHEDULER = r"""
$ErrorActionPreference = 'Stop'
$s = Get-ADSyncScheduler
[ordered]@{
  SyncCycleEnabled = [bool]$s.SyncCycleEnabled
  SyncCycleInProgress = [bool]$s.SyncCycleInProgress
  StagingModeEnabled = [bool]$s.StagingModeEnabled
  MaintenanceEnabled = [bool]$s.MaintenanceEnabled
  SchedulerSuspended = [bool]$s.SchedulerSuspended
  NextSyncCyclePolicyType = "$($s.NextSyncCyclePolicyType)"
  NextSyncCycleStartTimeInUTC = "$($s.NextSyncCycleStartTimeInUTC)"
  ServerTimeUtc = (Get-Date).ToUniversalTime().ToString('o')
} | ConvertTo-Json -Compress
"""

START_CYCLE = r"""
$ErrorActionPreference = 'Stop'
$started = (Get-Date).ToUniversalTime().ToString('o')
try {
  $r = Start-ADSyncSyncCycle -PolicyType %s
  [ordered]@{ Result = "$($r.Result)"; StartedUtc = $started } | ConvertTo-Json -Compress
} catch {
  [ordered]@{ Error = $_.Exception.Message; StartedUtc = $started } | ConvertTo-Json -Compress
}
"""

# Runs that began at or after the server time the cycle was started (server clock, not ours).
RUN_RESULTS = r"""
$ErrorActionPreference = 'Stop'
$since = [datetime]::Parse('%s').ToUniversalTime()
$runs = @(Get-ADSyncRunProfileResult -NumberRequested 50 | Where-Object { $_.StartDate.ToUniversalTime() -ge $since })
ConvertTo-Json -Depth 4 -Compress -InputObject @($runs | ForEach-Object {
  [ordered]@{
    RunHistoryId = "$($_.RunHistoryId)"
    ConnectorName = $_.ConnectorName
    RunProfileName = $_.RunProfileName
    Result = $_.Result
    StartDate = $_.StartDate.ToUniversalTime().ToString('o')
    EndDate = "$($_.EndDate)"
    Steps = @(Get-ADSyncRunStepResult -RunHistoryId $_.RunHistoryId | Select-Object StepNumber, StepResult,
      StageAdd, StageUpdate, StageDelete, StageFailure, ExportAdd, ExportUpdate, ExportDelete, ExportFailure)
  }
})
"""


class AdsyncError(SyncfixError):
    """The cycle could not be started or watched; the message says why and what to do."""

    kind = "adsync"


def parse_json(text, step):
    """The JSON the remote script printed last, read defensively (warnings may precede it)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if line[:1] in "{[":
            try:
                return json.loads(line)
            except ValueError:
                break
    raise AdsyncError("%s: the remote script printed no JSON; it printed: %r" % (step, (text or "")[:300]))


class Scheduler:
    def __init__(self, data):
        self.data = dict(data)
        self.enabled = bool(data.get("SyncCycleEnabled"))
        self.in_progress = bool(data.get("SyncCycleInProgress"))
        self.staging = bool(data.get("StagingModeEnabled"))
        self.maintenance = bool(data.get("MaintenanceEnabled"))
        self.suspended = bool(data.get("SchedulerSuspended"))

    def notes(self):
        notes = []
        if not self.enabled:
            notes.append("the scheduler is disabled (SyncCycleEnabled=false): cycles run only when started")
        if self.maintenance:
            notes.append("maintenance is enabled (MaintenanceEnabled=true)")
        if self.suspended:
            notes.append("the scheduler is suspended (SchedulerSuspended=true), for example by an upgrade in progress")
        return notes


def staging_refusal(scheduler, allow_staging):
    if not scheduler.staging or allow_staging:
        return None
    return ("this Entra Connect server is in staging mode (StagingModeEnabled=true): it imports and synchronizes but "
            "never exports, so a cycle here changes nothing in the cloud. Run it on the active server, or set "
            "allow_staging: true to run it anyway (for example to preview changes)")


def is_busy(message):
    return "busy" in (message or "").lower()


class ConnectEngine:
    """One remediation cycle: read the scheduler, deal with a running cycle, start, wait, read results."""

    def __init__(self, runner, clock=time.monotonic, sleep=time.sleep):
        self.runner = runner
        self.clock = clock
        self.sleep = sleep

    def scheduler(self):
        return Scheduler(parse_json(self.runner.run(READ_SCHEDULER), "Get-ADSyncScheduler"))

    def wait_idle(self, deadline, poll):
        """Poll until no cycle runs; returns the last scheduler state."""
        while True:
            state = self.scheduler()
            if not state.in_progress:
                return state
            if self.clock() + poll > deadline:
                raise AdsyncError("a sync cycle was still running when the timeout ran out; raise timeout, or "
                                  "check Synchronization Service Manager for a stuck run")
            self.sleep(poll)

    def wait_for_runs(self, started_utc, deadline, poll):
        """Poll until the scheduler is idle and this cycle's runs are recorded.

        A short cycle can end before the first poll and a slow one may not show as running
        yet, so neither "not in progress" nor "no runs yet" alone means done.
        """
        while True:
            self.sleep(poll)
            if not self.scheduler().in_progress:
                runs = parse_json(self.runner.run(RUN_RESULTS % started_utc), "Get-ADSyncRunProfileResult")
                runs = runs if isinstance(runs, list) else [runs]
                if runs:
                    return runs
            if self.clock() + poll > deadline:
                raise AdsyncError("the %s cycle started at %s had not finished when the timeout ran out; raise "
                                  "timeout, or read Synchronization Service Manager" % ("sync", started_utc))

    def run(self, policy="delta", if_running="wait", allow_staging=False, wait=True, timeout=1800, poll=10,
            check_mode=False):
        """Returns the module result: changed, scheduler, cycle_started, policy_type, runs, failed_runs, msg."""
        deadline = self.clock() + timeout
        state = self.scheduler()
        result = dict(changed=False, cycle_started=False, policy_type=policy, scheduler=state.data, notes=state.notes(),
                      runs=[], failed_runs=[])
        refusal = staging_refusal(state, allow_staging)
        if refusal:
            raise AdsyncError(refusal)
        if state.in_progress and if_running == "fail":
            raise AdsyncError("a sync cycle is already running and if_running is fail; wait for it, or use "
                              "if_running: wait to start a new cycle after it (it may predate your fixes)")
        if state.in_progress and if_running == "skip":
            result["msg"] = "a sync cycle is already running; skipped (if_running: skip)"
            return result
        if check_mode:
            result.update(changed=True, msg="would start a %s cycle%s" % (
                policy, " after the running one ends" if state.in_progress else ""))
            return result
        if state.in_progress:
            self.wait_idle(deadline, poll)
        answer = parse_json(self.runner.run(START_CYCLE % POLICIES[policy]), "Start-ADSyncSyncCycle")
        if answer.get("Error") and is_busy(answer["Error"]):
            if if_running != "wait":
                raise AdsyncError("Start-ADSyncSyncCycle: %s (a cycle started meanwhile; if_running is %s)"
                                  % (answer["Error"], if_running))
            # Another cycle slipped in between our read and our start: wait for it, once.
            self.wait_idle(deadline, poll)
            answer = parse_json(self.runner.run(START_CYCLE % POLICIES[policy]), "Start-ADSyncSyncCycle")
        if answer.get("Error"):
            raise AdsyncError("Start-ADSyncSyncCycle failed: %s" % answer["Error"])
        if (answer.get("Result") or "").lower() != "success":
            raise AdsyncError("Start-ADSyncSyncCycle answered Result=%r, not Success" % answer.get("Result"))
        result.update(changed=True, cycle_started=True, started_utc=answer.get("StartedUtc"))
        if not wait:
            result["msg"] = "started a %s cycle; not waiting for it" % policy
            return result
        runs = self.wait_for_runs(answer.get("StartedUtc"), deadline, poll)
        result["runs"] = runs
        result["failed_runs"] = [r for r in runs if (r.get("Result") or "").lower() != "success"]
        result["msg"] = "%s cycle finished: %d runs, %d not successful" % (policy, len(runs), len(result["failed_runs"]))
        return result


class PsrpRunner:
    """Runs scripts on the Entra Connect server through pypsrp (WinRM / PowerShell remoting)."""

    def __init__(self, client):
        self.client = client

    def run(self, script):
        output, streams, had_errors = self.client.execute_ps(script)
        if had_errors:
            errors = "; ".join(str(e) for e in getattr(streams, "error", [])) or "the script reported errors"
            raise AdsyncError("remote PowerShell failed: %s" % errors)
        return output

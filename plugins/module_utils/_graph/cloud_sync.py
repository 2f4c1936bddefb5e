# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Entra Cloud Sync through Graph synchronization jobs: read the job, then wait for its next
scheduled execution, start it when it is right to, or provision objects on demand.

Facts ("synchronizationJob: start", "synchronizationJob: provisionOnDemand",
"synchronizationTaskExecution", "synchronizationStatus resource type",
"synchronizationSchedule resource type"): ``POST .../jobs/{id}/start`` answers 204, resumes a
paused job and clears a quarantine, and must not be called continuously while the job runs
("use the start job only when the job is currently paused or in quarantine"); an Active job
runs by itself every ``schedule.interval`` (an ISO 8601 duration, PT2M for Cloud Sync);
``status.code`` is NotConfigured, NotRun, Active, Paused or Quarantine, and ``status.quarantine``
has the ``reason`` and ``error`` of a quarantine; ``provisionOnDemand`` takes one object per
request, at most 5 requests per 10 seconds, and needs the rule id from the job's schema; a
job's ``status.lastExecution`` has ``timeBegan``, ``timeEnded`` and ``state`` (Succeeded,
Failed, EntryLevelErrors) with counts.
"""

import json
import time

from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphError, WritePacer
from ansible_collections.syncfix.entra.plugins.module_utils._winrm.connect import AdsyncError

# "provisionOnDemand": 5 requests per 10 seconds per job.
ON_DEMAND_QUOTA = (5, 10.0)


class CloudSyncJob:
    def __init__(self, client, service_principal_id, job_id, clock=time.monotonic, sleep=time.sleep):
        self.client = client
        self.path = "/servicePrincipals/%s/synchronization/jobs/%s" % (service_principal_id, job_id)
        self.label = "synchronization job %s of service principal %s" % (job_id, service_principal_id)
        self.clock = clock
        self.sleep = sleep
        self.pacer = WritePacer(ON_DEMAND_QUOTA[0], ON_DEMAND_QUOTA[1], clock=clock, sleep=sleep)

    def read(self):
        return self.client.request("GET", self.path, operation="read", target=self.label) or {}

    def last_execution(self, job=None):
        return ((job or self.read()).get("status") or {}).get("lastExecution") or {}

    def start(self):
        self.client.request("POST", self.path + "/start", operation="start", target=self.label)

    def rule_id(self):
        schema = self.client.request("GET", self.path + "/schema", operation="read schema", target=self.label) or {}
        rules = schema.get("synchronizationRules") or []
        if not rules:
            raise AdsyncError("%s has no synchronization rule in its schema; pass rule_id" % self.label)
        return rules[0]["id"]

    def provision_on_demand(self, distinguished_names, rule_id, object_type="user"):
        """One request per object, paced at 5 per 10 s; returns ``[{object, status, error, details}]``.

        Objects are independent, so a refused request is recorded against its object and the
        rest still run: the caller learns exactly which objects were provisioned."""
        results = []
        for dn in distinguished_names:
            self.pacer.acquire()
            body = {"parameters": [{"ruleId": rule_id, "subjects": [{"objectId": dn, "objectTypeName": object_type}]}]}
            try:
                answer = self.client.request("POST", self.path + "/provisionOnDemand", body=body,
                                             operation="provision on demand", target=dn) or {}
            except GraphError as e:
                results.append({"object": dn, "status": "Error", "error": str(e), "details": None})
                continue
            results.append(dict(on_demand_outcome(answer), object=dn))
        return results

    def wait_for_new_execution(self, previous, timeout, poll):
        """Poll until an execution other than ``previous`` has ended; returns it."""
        deadline = self.clock() + timeout
        while True:
            execution = self.last_execution()
            if execution and execution.get("timeEnded") and _identity(execution) != _identity(previous):
                return execution
            if self.clock() + poll > deadline:
                raise AdsyncError("%s: no new execution finished within %s s; raise timeout, or read the "
                                  "provisioning logs" % (self.label, timeout))
            self.sleep(poll)


def job_state(job):
    """What the decision needs from a job read with GET: its status code, schedule, quarantine
    and last execution."""
    status = job.get("status") or {}
    schedule = job.get("schedule") or {}
    return {"code": status.get("code"), "interval": schedule.get("interval"), "schedule_state": schedule.get("state"),
            "quarantine": status.get("quarantine") or None, "last_execution": status.get("lastExecution") or {}}


WAIT, START, REFUSE = "wait", "start", "refuse"


def plan_job_run(state, label, allow_resume):
    """``(WAIT | START | REFUSE, why)``: what to do with a job in ``state`` (see ``job_state``).

    "synchronizationJob: start": don't call start continuously while the job runs, because that
    can stop the service; use it only when the job is paused or in quarantine. An Active job
    runs by itself every ``schedule.interval``, so we wait for its next execution. Start on a
    Paused job resumes it and on a Quarantine job clears the quarantine: either may undo what
    an admin or the service did on purpose, so it takes ``allow_resume``. A NotRun job has
    never run, and start is its first run."""
    code = (state["code"] or "").lower()
    if code == "active":
        if (state["schedule_state"] or "Active").lower() != "active":
            return REFUSE, ("%s is Active but its schedule is %s, so no scheduled execution will come to wait for; "
                            "enable the schedule, or provision named objects with provision_objects"
                            % (label, state["schedule_state"]))
        return WAIT, "%s is Active and runs on its own schedule, every %s" % (label, state["interval"] or "interval (not reported)")
    if code == "notrun":
        return START, "%s has not run yet (NotRun): this is its first run" % label
    if code in ("paused", "quarantine"):
        paused = code == "paused"
        what = ("%s is Paused" % label if paused
                else "%s is in Quarantine%s" % (label, quarantine_text(state["quarantine"])))
        if not allow_resume:
            effect = ("starting it resumes it, which may undo a deliberate pause" if paused
                      else "starting it clears the quarantine; fix what caused it first")
            return REFUSE, "%s; %s. Set allow_resume: true to start it" % (what, effect)
        return START, "%s and allow_resume is true: starting it %s" % (what, "resumes it" if paused else "clears the quarantine")
    if code == "notconfigured":
        return REFUSE, ("%s is NotConfigured: there is nothing to start; configure the Cloud Sync agent and the "
                        "job's configuration (scope, credentials) first" % label)
    return REFUSE, ("%s reports status code %r, which is not one of NotConfigured, NotRun, Active, Paused, Quarantine; "
                    "not started" % (label, state["code"]))


def quarantine_text(quarantine):
    """`` (reason TooManyDeletes: <error message>)`` from ``status.quarantine``, or ``""``."""
    quarantine = quarantine if isinstance(quarantine, dict) else {}
    error = quarantine.get("error") if isinstance(quarantine.get("error"), dict) else {}
    parts = [str(part) for part in (quarantine.get("reason"), error.get("message") or error.get("code")) if part]
    return " (reason %s)" % ": ".join(parts) if parts else ""


def _json_document(value):
    """provisionOnDemand answers a stringKeyStringValuePair whose key and value are JSON
    documents inside strings; keep the text when it is not JSON."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def on_demand_outcome(answer):
    """``{status, error, details}`` of one provisionOnDemand answer. From "synchronizationJob:
    provisionOnDemand": ``key`` holds ``result`` (Success, Skipped, Failure, ...) and error
    ``details`` (errorCode, errorMessage); ``value`` holds ``statusInfo`` and ``provisioningSteps``."""
    key = _json_document(answer.get("key"))
    details = _json_document(answer.get("value"))
    key = key if isinstance(key, dict) else {}
    info = details.get("statusInfo") if isinstance(details, dict) else None
    info = info if isinstance(info, dict) else {}
    status = key.get("result") or info.get("status")
    problem = key.get("details") if isinstance(key.get("details"), dict) else {}
    code = problem.get("errorCode") or info.get("errorCode")
    text = problem.get("errorMessage") or info.get("reason")
    error = ": ".join(str(part) for part in (code, text) if part) or None
    return {"status": status, "error": error, "details": details}


# Skipped is what the service answers when source and target already match (RedundantExport).
_ON_DEMAND_FINE = ("success", "succeeded", "skipped", "warning")


def on_demand_failed(results):
    """Objects whose on-demand provisioning did not succeed (or said nothing of its outcome)."""
    return [r["object"] for r in results if (r["status"] or "").lower() not in _ON_DEMAND_FINE]


def _identity(execution):
    execution = execution or {}
    return (execution.get("activityIdentifier"), execution.get("timeBegan"))


def execution_failed(execution):
    return (execution.get("state") or "").lower() != "succeeded"

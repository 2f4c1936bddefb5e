# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Entra Cloud Sync through Graph synchronization jobs: start a job or provision objects on
demand, then wait for the job's next execution to finish.

Facts ("synchronizationJob: start", "synchronizationJob: provisionOnDemand",
"synchronizationTaskExecution"): ``POST .../jobs/{id}/start`` answers 204;
``provisionOnDemand`` takes one object per request, at most 5 requests per 10 seconds, and
needs the rule id from the job's schema; a job's ``status.lastExecution`` has ``timeBegan``,
``timeEnded`` and ``state`` (Succeeded, Failed, EntryLevelErrors) with counts.
"""

import json
import time

from ansible_collections.syncfix.entra.plugins.module_utils.graph_client import GraphError, WritePacer
from ansible_collections.syncfix.entra.plugins.module_utils.adsync_connect import AdsyncError

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

"""Cloud Sync provisioning jobs: ``/servicePrincipals/{id}/synchronization/jobs/{jobId}``,
its ``start`` (204) and ``provisionOnDemand`` (one subject per request, 5 requests per 10 s —
"synchronizationJob: provisionOnDemand"), and the job ``schema`` whose rule id
``provisionOnDemand`` needs.

The sync simulator is wired in through ``svc.sync_engine`` (sync_engine.py) and, for other
uses, ``ENGINES``: callables
``engine(event, tenant, service_principal, job, payload) -> dict | None`` run inside the
request (``event`` is ``"start"`` or ``"provisionOnDemand"``); a dict returned for
``provisionOnDemand`` sets the ``status`` (and ``error``) of the answer.
"""

from __future__ import annotations

import json
import uuid

from . import catalog
from .errors import GraphError, bad_request, not_found
from .routing import Response, route
from .tenant import now_iso

ENGINES: list = []
SP_READ = catalog.JOBS_READ | {"Application.Read.All", "Directory.Read.All", "Application.ReadWrite.All"}

RULE_ID = "6c409270-f78a-4bc6-af23-7cf3ab6e4fa5"


def _sp(svc, key):
    for sp in svc.tenant.state["servicePrincipals"]:
        if sp["id"].lower() == key.lower():
            return sp
    raise not_found(key)


def _job(svc, sp_key, job_key):
    sp = _sp(svc, sp_key)
    for job in sp["synchronization"]["jobs"]:
        if job["id"].lower() == job_key.lower():
            return sp, job
    raise not_found(job_key)


def _job_view(job):
    return {k: v for k, v in job.items() if k in ("id", "templateId", "schedule", "status", "synchronizationJobSettings")}


@route("GET", r"/servicePrincipals", SP_READ)
def list_sps(svc, req):
    return Response(200, {"@odata.context": "%s/v1.0/$metadata#servicePrincipals" % req.base,
                          "value": [{"id": sp["id"], "appId": sp["appId"], "displayName": sp["displayName"]}
                                    for sp in svc.tenant.state["servicePrincipals"]]})


@route("GET", r"/servicePrincipals/(?P<key>[0-9a-fA-F-]{36})", SP_READ)
def get_sp(svc, req, key):
    sp = _sp(svc, key)
    return Response(200, {"@odata.context": "%s/v1.0/$metadata#servicePrincipals/$entity" % req.base,
                          "id": sp["id"], "appId": sp["appId"], "displayName": sp["displayName"]})


@route("GET", r"/servicePrincipals/(?P<key>[^/]+)/synchronization/jobs", catalog.JOBS_READ)
def list_jobs(svc, req, key):
    sp = _sp(svc, key)
    return Response(200, {"@odata.context": "%s/v1.0/$metadata#servicePrincipals('%s')/synchronization/jobs" % (req.base, key),
                          "value": [_job_view(j) for j in sp["synchronization"]["jobs"]]})


@route("GET", r"/servicePrincipals/(?P<key>[^/]+)/synchronization/jobs/(?P<job>[^/]+)", catalog.JOBS_READ)
def get_job(svc, req, key, job):
    _sp_obj, found = _job(svc, key, job)
    body = {"@odata.context": "%s/v1.0/$metadata#servicePrincipals('%s')/synchronization/jobs/$entity" % (req.base, key)}
    body.update(_job_view(found))
    return Response(200, body)


@route("GET", r"/servicePrincipals/(?P<key>[^/]+)/synchronization/jobs/(?P<job>[^/]+)/schema", catalog.JOBS_READ)
def get_schema(svc, req, key, job):
    _job(svc, key, job)
    return Response(200, {"id": job, "version": "Date:2026-01-01T00:00:00Z", "directories": [
        {"id": "ad", "name": "Active Directory"}, {"id": "aad", "name": "Azure Active Directory"}],
        "synchronizationRules": [{"id": RULE_ID, "name": "USER_ACTIVEDIRECTORY_TO_AZUREACTIVEDIRECTORY",
                                  "sourceDirectoryName": "Active Directory",
                                  "targetDirectoryName": "Azure Active Directory", "editable": True,
                                  "objectMappings": [{"sourceObjectName": "user", "targetObjectName": "User",
                                                      "enabled": True, "name": "Provision Active Directory Users"},
                                                     {"sourceObjectName": "group", "targetObjectName": "Group",
                                                      "enabled": True, "name": "Provision Active Directory Groups"},
                                                     {"sourceObjectName": "contact", "targetObjectName": "Contact",
                                                      "enabled": True, "name": "Provision Active Directory Contacts"}]}]})


def _run_engines(event, svc, sp, job, payload):
    result = None
    for engine in [svc.sync_engine] + ENGINES:
        answer = engine(event, svc.tenant, sp, job, payload)
        if answer is not None:
            result = answer
    return result


@route("POST", r"/servicePrincipals/(?P<key>[^/]+)/synchronization/jobs/(?P<job>[^/]+)/start", catalog.JOBS_WRITE)
def start_job(svc, req, key, job):
    sp, found = _job(svc, key, job)
    began = now_iso(svc.now())
    execution = {"activityIdentifier": str(uuid.uuid4()), "countEntitled": 0, "countEntitledForProvisioning": 0,
                 "countEscrowed": 0, "countEscrowedRaw": 0, "countExported": 0, "countExports": 0,
                 "countImported": 0, "countImportedDeltas": 0, "countImportedReferenceDeltas": 0,
                 "state": "Succeeded", "error": None, "timeBegan": began, "timeEnded": began}
    found["status"]["code"] = "Active"
    found["status"]["lastExecution"] = execution
    result = _run_engines("start", svc, sp, found, execution)
    if isinstance(result, dict):
        execution.update(result)
    if execution.get("state") == "Succeeded":
        found["status"]["lastSuccessfulExecution"] = dict(execution)
    return Response(204)


@route("POST", r"/servicePrincipals/(?P<key>[^/]+)/synchronization/jobs/(?P<job>[^/]+)/provisionOnDemand",
       catalog.JOBS_WRITE)
def provision_on_demand(svc, req, key, job):
    sp, found = _job(svc, key, job)
    wait = svc.on_demand_limit.admit((req.claims.get("appid"), found["id"]))
    if wait is not None:
        raise GraphError(429, "TooManyRequests", "Too many requests.", headers={"Retry-After": str(wait)})
    body = req.body if isinstance(req.body, dict) else {}
    parameters = body.get("parameters")
    if not isinstance(parameters, list) or len(parameters) != 1:
        raise bad_request("The request needs exactly one entry in parameters.", code="BadRequest")
    parameter = parameters[0]
    subjects = parameter.get("subjects")
    if not isinstance(subjects, list) or len(subjects) != 1:
        raise bad_request("provisionOnDemand takes exactly one subject per request.", code="BadRequest")
    if parameter.get("ruleId") != RULE_ID:
        raise bad_request("Invalid ruleId '%s'; read it from the job's schema." % parameter.get("ruleId"), code="BadRequest")
    subject = subjects[0]
    if not subject.get("objectId") or subject.get("objectTypeName") not in ("user", "group", "contact"):
        raise bad_request("A subject needs objectId and objectTypeName user, group or contact.", code="BadRequest")
    details = {"objectId": subject["objectId"], "objectTypeName": subject["objectTypeName"],
               "status": "Success", "timestamp": now_iso(svc.now()), "steps": []}
    result = _run_engines("provisionOnDemand", svc, sp, found, subject)
    if isinstance(result, dict):
        details.update(result)
    found.setdefault("onDemandRuns", []).append(details)
    del found["onDemandRuns"][:-100]
    key, value = _on_demand_answer(details)
    return Response(200, {"@odata.context": "%s/v1.0/$metadata#microsoft.graph.stringKeyStringValuePair" % req.base,
                          "key": json.dumps(key), "value": json.dumps(value)})


def _on_demand_answer(details):
    """The documented answer ("synchronizationJob: provisionOnDemand", example 2): ``key`` and
    ``value`` are JSON documents in strings; ``key`` has the ``result`` and error ``details``,
    ``value`` the ``statusInfo`` and ``provisioningSteps``. The simulator's run result rides
    along in ``value`` as ``runResult`` (not a Graph field)."""
    status, error = details["status"], details.get("error")
    key = {"result": status, "details": {"errorCode": "SyncSimulatorError", "errorMessage": error} if error else {}}
    value = {"provisioningSteps": details.get("steps") or [],
             "statusInfo": {"status": status, "errorCode": "SyncSimulatorError" if error else None, "reason": error},
             "sourceIdentity": {"id": details["objectId"], "type": details["objectTypeName"]},
             "startTime": details["timestamp"], "endTime": details["timestamp"]}
    if "runResult" in details:
        value["runResult"] = details["runResult"]
    return key, value

"""Cloud Sync provisioning jobs: ``/servicePrincipals/{id}/synchronization/jobs/{jobId}``,
its ``start`` (204) and ``provisionOnDemand`` (one subject per request, 5 requests per 10 s —
"synchronizationJob: provisionOnDemand"), and the job ``schema`` whose rule id
``provisionOnDemand`` needs.

A job runs by itself: "synchronizationJob: start" tells clients not to call ``start`` while a
job runs, and to use it only when the job is paused or in quarantine, because an Active job
runs every ``schedule.interval`` ("synchronizationSchedule resource type", an ISO 8601 duration
such as PT2M). So the emulator runs one cycle of every job whose ``status.code`` is Active and
whose ``schedule.state`` is Active once its interval, multiplied by the ``time_scale`` setting
(0.01: PT2M lasts 1.2 s), has passed since its last execution began, or since the emulator
first saw the job (a tenant loaded with ``PUT /_lab/state`` or ``POST /_lab/reset`` counts
from then, so loading never triggers a run). Paused, Quarantine, NotRun and NotConfigured
jobs never run on schedule (the service's reduced retries of a quarantined job are not
modelled). ``start`` runs a cycle at once in any state, as Graph accepts it; on a Paused or
Quarantine job it also sets the code to Active (and the schedule back to Active) and clears
``status.quarantine``, which is how a job is resumed. The lab sets a job's code (and
``status.quarantine``) through the tenant state, e.g. ``{"status": {"code": "Paused"}}``.

Scheduled cycles run in a background thread that the emulator process starts with
``start_schedule`` (``python -m lab.graph_emulator``; a service used in-process has none) and
that ticks every ``TICK`` seconds. A cycle holds ``tenant.lock``,
the lock every request handler runs under, so a client never sees half a cycle. A scheduled
cycle that fails (the registered AD is gone) is recorded as a Failed execution; it never
reaches an unrelated request. The thread is a daemon, stopped and joined at exit.

The sync simulator is wired in through ``svc.sync_engine`` (sync_engine.py) and, for other
uses, ``ENGINES``: callables
``engine(event, tenant, service_principal, job, payload) -> dict | None`` run inside the
request or the scheduled cycle (``event`` is ``"start"`` for a cycle, started or scheduled,
or ``"provisionOnDemand"``); a dict returned for ``provisionOnDemand`` sets the ``status``
(and ``error``) of the answer.
"""

from __future__ import annotations

import atexit
import json
import threading
import time
import uuid
import weakref

from . import catalog
from .errors import GraphError, bad_request, not_found
from .routing import Response, route
from .tenant import duration_seconds, now_iso

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


def run_cycle(svc, sp, job):
    """One execution of ``job`` through the sync engines, for ``start`` and for the schedule.
    The caller holds ``tenant.lock``. An engine error propagates, with the execution recorded."""
    _scheduler(svc).began(sp, job)
    began = now_iso(svc.now())
    execution = {"activityIdentifier": str(uuid.uuid4()), "countEntitled": 0, "countEntitledForProvisioning": 0,
                 "countEscrowed": 0, "countEscrowedRaw": 0, "countExported": 0, "countExports": 0,
                 "countImported": 0, "countImportedDeltas": 0, "countImportedReferenceDeltas": 0,
                 "state": "Succeeded", "error": None, "timeBegan": began, "timeEnded": began}
    job["status"]["lastExecution"] = execution
    result = _run_engines("start", svc, sp, job, execution)
    if isinstance(result, dict):
        execution.update(result)
    execution["timeEnded"] = now_iso(svc.now())
    if execution.get("state") == "Succeeded":
        job["status"]["lastSuccessfulExecution"] = dict(execution)
    return execution


@route("POST", r"/servicePrincipals/(?P<key>[^/]+)/synchronization/jobs/(?P<job>[^/]+)/start", catalog.JOBS_WRITE)
def start_job(svc, req, key, job):
    sp, found = _job(svc, key, job)
    # "synchronizationJob: start": a paused job continues, a quarantined one has its quarantine cleared.
    found["status"]["code"] = "Active"
    found["status"]["quarantine"] = None
    if found["schedule"].get("state") == "Paused":
        found["schedule"]["state"] = "Active"
    run_cycle(svc, sp, found)
    return Response(204)


class JobScheduler:
    """Runs the cycles of Active jobs whose scaled ``schedule.interval`` has passed (see the module doc)."""

    TICK = 0.1

    def __init__(self, svc):
        self._svc = weakref.ref(svc)  # the thread must not keep a discarded service alive
        # (service principal id, job id) -> (the job object, time.monotonic() its last run began or it was first seen).
        # A reloaded tenant holds new job objects: the identity check restarts their clock.
        self._began: dict = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="synchronization-schedule", daemon=True)

    def began(self, sp, job) -> None:
        self._began[(sp["id"], job["id"])] = (job, time.monotonic())

    def stop(self) -> None:
        """At exit: let a cycle in progress finish, then save what it changed (the server saved before)."""
        self._stop.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(30)
        svc = self._svc()
        try:
            if svc is not None:
                svc.tenant.save()
        except OSError:  # the state folder is gone (a test's temporary one): nothing to keep
            pass

    def _loop(self) -> None:
        while not self._stop.wait(self.TICK):
            svc = self._svc()
            if svc is None:
                return
            self.run_due(svc)
            del svc

    def run_due(self, svc) -> None:
        scale = svc.settings.time_scale
        with svc.tenant.lock:
            now = time.monotonic()
            jobs = {(sp["id"], job["id"]): (sp, job) for sp in svc.tenant.state.get("servicePrincipals") or []
                    for job in sp["synchronization"]["jobs"]}
            self._began = {key: self._began[key] if key in self._began and self._began[key][0] is job else (job, now)
                           for key, (sp, job) in jobs.items()}
            for key, (sp, job) in jobs.items():
                interval = duration_seconds(job["schedule"].get("interval"))
                if job["status"].get("code") != "Active" or job["schedule"].get("state") != "Active" or interval is None:
                    continue
                if now - self._began[key][1] < interval * scale:
                    continue
                try:
                    run_cycle(svc, sp, job)
                except Exception as error:  # noqa: BLE001
                    # Nobody waits on a scheduled cycle: its failure belongs in the execution, where
                    # Graph reports one ("synchronizationTaskExecution": state Failed, error).
                    job["status"]["lastExecution"].update(state="Failed", timeEnded=now_iso(svc.now()), error={
                        "code": "SyncEngineError", "message": "%s: %s" % (type(error).__name__, error),
                        "tenantActionable": True})
                svc.tenant.save_soon()


_SCHEDULERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # GraphService -> JobScheduler
_SCHEDULERS_LOCK = threading.Lock()


def _scheduler(svc) -> JobScheduler:
    with _SCHEDULERS_LOCK:
        scheduler = _SCHEDULERS.get(svc)
        if scheduler is None:
            scheduler = _SCHEDULERS[svc] = JobScheduler(svc)
    return scheduler


def start_schedule(svc) -> JobScheduler:
    """Run Active jobs on their schedule from now on, until the process exits."""
    scheduler = _scheduler(svc)
    if not scheduler.thread.is_alive():
        scheduler.thread.start()
        atexit.register(scheduler.stop)
    return scheduler


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

"""Cloud Sync jobs run by themselves, seen from a client.

Sources: "synchronizationJob: start" (don't call start while a job runs; use it only when the
job is paused or in quarantine; start resumes a paused job and clears a quarantine),
"synchronizationSchedule resource type" (``interval``, an ISO 8601 duration; ``state``) and
"synchronizationStatus resource type" (``code``: NotConfigured, NotRun, Active, Paused,
Quarantine). The default job runs every PT2M; ``time_scale`` 0.01 makes that 1.2 s. No AD is
registered in this session, so a cycle reads nothing and succeeds: what is tested is when
executions happen, not what they sync.
"""

from __future__ import annotations

import json
import pathlib
import signal
import ssl
import subprocess
import sys
import time

import httpx

REPO = pathlib.Path(__file__).resolve().parents[3]
INTERVAL = 120 * 0.01  # PT2M at time_scale 0.01


def job_path(lab) -> str:
    (sp,) = lab.graph("GET", "/servicePrincipals").json()["value"]
    (job,) = lab.graph("GET", "/servicePrincipals/%s/synchronization/jobs" % sp["id"]).json()["value"]
    return "/servicePrincipals/%s/synchronization/jobs/%s" % (sp["id"], job["id"])


def read(lab, path) -> dict:
    answer = lab.graph("GET", path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def set_job(lab, status=None, schedule=None) -> None:
    """Replace the tenant with one whose job has these status (and schedule) values."""
    state = lab.lab("GET", "/state").json()
    job = state["servicePrincipals"][0]["synchronization"]["jobs"][0]
    job["status"].update(status or {})
    job["schedule"].update(schedule or {})
    answer = lab.lab("PUT", "/state", json=state)
    assert answer.status_code == 200, answer.text


def scale_time(lab, scale) -> None:
    answer = lab.lab("PATCH", "/config", json={"time_scale": scale})
    assert answer.status_code == 200, answer.text


def next_execution(lab, path, previous, timeout) -> dict | None:
    """The job's lastExecution once it is one other than ``previous``; None after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = read(lab, path)["status"]["lastExecution"]
        if execution and execution != previous:
            return execution
        time.sleep(0.05)
    return None


def starts(lab) -> list:
    return [e for e in lab.lab("GET", "/requests").json()["value"] if e["method"] == "POST" and e["path"].endswith("/start")]


def test_an_active_job_runs_on_its_scaled_schedule_without_any_start(lab):
    path = job_path(lab)
    job = read(lab, path)
    assert (job["status"]["code"], job["schedule"]["interval"], job["schedule"]["state"]) == ("Active", "PT2M", "Active")
    assert job["status"]["lastExecution"] is None, "loading a tenant runs nothing"
    # At the real PT2M nothing happens within seconds; scaled, it is overdue and runs at once.
    assert next_execution(lab, path, None, timeout=1.5) is None
    scale_time(lab, 0.01)
    first = next_execution(lab, path, None, timeout=1.0)
    assert first and first["state"] == "Succeeded" and first["timeEnded"], first

    seen = time.monotonic()
    second = next_execution(lab, path, first, timeout=INTERVAL * 4)
    gap = time.monotonic() - seen
    assert second and second["activityIdentifier"] != first["activityIdentifier"], second
    assert INTERVAL * 0.6 < gap < INTERVAL * 4, "the next run comes one interval after the last began: %.2f s" % gap
    assert second["timeBegan"] >= first["timeBegan"]
    assert read(lab, path)["status"]["lastSuccessfulExecution"]["activityIdentifier"] == second["activityIdentifier"]
    assert starts(lab) == [], "no client started it"


def test_a_loaded_job_counts_its_interval_from_the_load(lab):
    path = job_path(lab)
    scale_time(lab, 0.01)
    ran = next_execution(lab, path, None, timeout=INTERVAL * 3)
    assert ran
    scale_time(lab, 1.0)
    time.sleep(INTERVAL * 1.5)  # the job is now overdue at the fast scale...
    set_job(lab)  # ...but a tenant loaded with PUT /_lab/state starts its clock afresh
    scale_time(lab, 0.01)
    loaded = time.monotonic()
    later = next_execution(lab, path, ran, timeout=INTERVAL * 4)
    assert later, "it runs one interval after the load"
    assert time.monotonic() - loaded > INTERVAL * 0.6, "not at once: loading a tenant runs nothing"


def test_jobs_that_are_not_active_do_not_run_on_schedule(lab):
    path = job_path(lab)
    for code, schedule_state in (("Paused", "Paused"), ("Paused", "Active"), ("Quarantine", "Active"),
                                 ("NotRun", "Active"), ("NotConfigured", "Active"), ("Active", "Disabled")):
        scale_time(lab, 1.0)
        set_job(lab, {"code": code, "quarantine": {"reason": "TooManyDeletes"} if code == "Quarantine" else None},
                {"state": schedule_state})
        scale_time(lab, 0.01)
        assert next_execution(lab, path, None, timeout=INTERVAL * 2) is None, (code, schedule_state)
        job = read(lab, path)
        assert (job["status"]["code"], job["schedule"]["state"]) == (code, schedule_state)
    assert starts(lab) == []


def test_start_on_a_paused_job_makes_it_active_and_it_then_runs_on_schedule(lab):
    path = job_path(lab)
    set_job(lab, {"code": "Paused"}, {"state": "Paused"})
    scale_time(lab, 0.01)
    assert next_execution(lab, path, None, timeout=INTERVAL * 2) is None, "paused: no scheduled run"

    assert lab.graph("POST", path + "/start").status_code == 204
    job = read(lab, path)
    assert (job["status"]["code"], job["schedule"]["state"]) == ("Active", "Active"), "start resumes a paused job"
    started = job["status"]["lastExecution"]
    assert started and started["state"] == "Succeeded", "start ran a cycle at once"

    scheduled = next_execution(lab, path, started, timeout=INTERVAL * 4)
    assert scheduled and scheduled["activityIdentifier"] != started["activityIdentifier"], "then it runs on its own"
    assert len(starts(lab)) == 1


def test_start_on_a_quarantined_job_clears_the_quarantine(lab):
    path = job_path(lab)
    quarantine = {"reason": "TooManyDeletes", "currentBegan": "2026-11-22T08:00:00Z",
                  "error": {"code": "TooManyDeletes", "message": "The job would delete 600 users.", "tenantActionable": True}}
    set_job(lab, {"code": "Quarantine", "quarantine": quarantine})
    job = read(lab, path)
    assert job["status"]["code"] == "Quarantine" and job["status"]["quarantine"]["reason"] == "TooManyDeletes"

    assert lab.graph("POST", path + "/start").status_code == 204
    status = read(lab, path)["status"]
    assert status["code"] == "Active" and status["quarantine"] is None
    assert status["lastExecution"]["state"] == "Succeeded"


def test_start_on_an_active_job_still_runs_a_cycle(lab):
    path = job_path(lab)
    assert lab.graph("POST", path + "/start").status_code == 204
    first = read(lab, path)["status"]["lastExecution"]
    assert lab.graph("POST", path + "/start").status_code == 204
    second = read(lab, path)["status"]["lastExecution"]
    assert first and second and first["activityIdentifier"] != second["activityIdentifier"]
    assert read(lab, path)["status"]["code"] == "Active"


def test_a_job_state_the_docs_do_not_allow_is_refused_naming_the_field(lab):
    state = lab.lab("GET", "/state").json()
    for field, value in (("status", {"code": "Running"}), ("schedule", {"state": "Stopped"}),
                         ("schedule", {"interval": "2 minutes"})):
        document = json.loads(json.dumps(state))
        document["servicePrincipals"][0]["synchronization"]["jobs"][0][field].update(value)
        answer = lab.lab("PUT", "/state", json=document)
        assert answer.status_code == 400, answer.text
        name = "%s.%s" % (field, next(iter(value)))
        assert "servicePrincipals[0].synchronization.jobs[0].%s" % name in answer.json()["error"], answer.text


class OwnEmulator:
    """Just enough of a client for a private emulator process: a token and Graph requests."""

    def __init__(self, facts):
        self.facts = facts
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=facts["ca_path"]), timeout=30)
        answer = self.http.post("%s/%s/oauth2/v2.0/token" % (facts["graph_endpoint"], facts["tenant_id"]), data={
            "grant_type": "client_credentials", "client_id": facts["client_id"], "client_secret": facts["client_secret"],
            "scope": "https://graph.microsoft.com/.default"})
        assert answer.status_code == 200, answer.text
        self.headers = {"Authorization": "Bearer " + answer.json()["access_token"]}

    def graph(self, method, path):
        return self.http.request(method, self.facts["graph_endpoint"] + "/v1.0" + path, headers=self.headers)


def test_the_emulator_stops_cleanly_while_jobs_run_on_schedule(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "lab.graph_emulator", "--state-dir", str(tmp_path),
                                "--option", "time_scale=0.001"],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "emulator.err", "w"))
    server_json = tmp_path / "graph" / "server.json"
    deadline = time.monotonic() + 20
    while not server_json.exists():
        assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "emulator.err").read_text()
        time.sleep(0.05)
    client = OwnEmulator(json.loads(server_json.read_text()))
    try:
        path = job_path(client)  # the scheduler starts with the first request about a service principal
        assert next_execution(client, path, None, timeout=5), "PT2M at time_scale 0.001 runs every 0.12 s"
    finally:
        client.http.close()
        process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    assert "Traceback" not in (tmp_path / "emulator.err").read_text()
    saved = json.loads((tmp_path / "graph" / "tenant.json").read_text())
    assert saved["servicePrincipals"][0]["synchronization"]["jobs"][0]["status"]["lastExecution"], "saved on the way out"

"""adsync_cycle engine=cloud_sync against the lab: the Cloud Sync job of the Graph emulator
runs the sync simulator over the real Samba DC, so a fix made in AD with ad_proxy_addresses is
what the job's next execution acts on.

"synchronizationJob: start": don't call start while a job runs; use it only when the job is
paused or in quarantine. The lab's job is Active and runs by itself every PT2M; at
``time_scale`` 0.01 that is 1.2 s, so the module's wait sees the scheduled run without
starting anything.

The scenario is soft-match-happy with the AD user's primary SMTP address not yet aligned:
the AD user lives in this test's own OU, and the sync reads only that OU.
"""

import uuid

import pytest

from test_ad_modules import connection_args, make_user

CYCLE = "syncfix.entra.adsync_cycle"
FAST = 0.01  # PT2M lasts 1.2 s


@pytest.fixture(autouse=True)
def real_time_afterwards(graph_lab):
    yield
    graph_lab.lab("PATCH", "/config", json={"time_scale": 1.0})


@pytest.fixture
def hybrid(samba, graph_lab, ldap_admin, ou):
    name = "ann-%s" % uuid.uuid4().hex[:6]
    dn = make_user(ldap_admin, ou, name, ["SMTP:%s.lee@contoso.com" % name, "smtp:%s@contoso.com" % name],
                   mail="%s.lee@contoso.com" % name)
    graph_lab.load({
        "domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": "contoso.com"}],
        "features": {"blockSoftMatchEnabled": False, "softMatchOnUpnEnabled": False},
        "users": [{"userPrincipalName": "%s@contoso.com" % name, "displayName": "Ann Lee (cloud)",
                   "mail": "%s@contoso.com" % name, "proxyAddresses": ["SMTP:%s@contoso.com" % name],
                   "mailbox": True, "licenses": ["ENTERPRISEPACK"]}],
    })
    graph_lab.lab("PUT", "/ad", json=dict(samba, scope=[ou]))
    (service_principal,) = graph_lab.lab("GET", "/state")["servicePrincipals"]
    job = service_principal["synchronization"]["jobs"][0]
    return {"name": name, "dn": dn, "upn": "%s@contoso.com" % name,
            "job": dict(service_principal_id=service_principal["id"], job_id=job["id"])}


def cycle(graph_lab, hybrid, **options):
    return {CYCLE: dict(graph_lab.auth, engine="cloud_sync", timeout=60, poll_interval=1, **dict(hybrid["job"], **options))}


def scale_time(graph_lab, scale):
    graph_lab.lab("PATCH", "/config", json={"time_scale": scale})


def job_status(graph_lab):
    (service_principal,) = graph_lab.lab("GET", "/state")["servicePrincipals"]
    return service_principal["synchronization"]["jobs"][0]["status"]


def set_job_code(graph_lab, code):
    state = graph_lab.lab("GET", "/state")
    state["servicePrincipals"][0]["synchronization"]["jobs"][0]["status"]["code"] = code
    graph_lab.lab("PUT", "/state", json=state)


def starts(graph_lab):
    return [w for w in graph_lab.writes() if w["method"] == "POST" and w["path"].endswith("/start")]


def test_align_primary_then_wait_for_the_scheduled_run(samba, graph_lab, hybrid, playbook):
    align = {"syncfix.entra.ad_proxy_addresses": connection_args(samba, object=hybrid["name"], primary=hybrid["upn"])}
    rc, (aligned,) = playbook([align])
    assert aligned["changed"] is True, aligned

    # At the real PT2M the job does not run during the dry run, so what it leaves alone is seen.
    rc, (planned,) = playbook([cycle(graph_lab, hybrid, wait=True)], check=True)
    assert planned["changed"] is False and planned["cycle_started"] is False, planned
    assert "would not start it, would wait for its next scheduled execution" in planned["msg"], planned["msg"]
    assert graph_lab.writes() == [], "check mode started nothing"
    assert not graph_lab.users()[hybrid["upn"]].get("onPremisesSyncEnabled")

    scale_time(graph_lab, FAST)
    rc, (ran,) = playbook([cycle(graph_lab, hybrid, wait=True)])
    assert rc == 0 and not ran.get("failed"), ran
    assert starts(graph_lab) == [], "an Active job is waited for, never started"
    assert ran["changed"] is False and ran["cycle_started"] is False, ran
    assert (ran["job_status"], ran["schedule_interval"]) == ("Active", "PT2M"), ran
    assert "is Active" in ran["msg"] and "every PT2M" in ran["msg"] and "provision_objects" in ran["msg"], ran["msg"]
    assert ran["execution"]["state"] == "Succeeded" and ran["execution"]["timeEnded"], ran
    assert ran["execution"]["activityIdentifier"] != (ran["previous_execution"] or {}).get("activityIdentifier")
    cloud = graph_lab.users()[hybrid["upn"]]
    assert cloud["onPremisesSyncEnabled"] is True, "the soft match joined the pre-created cloud user"
    assert cloud["onPremisesDistinguishedName"].lower() == hybrid["dn"].lower()
    assert cloud["mailbox"] is True and len(graph_lab.users()) == 1, "joined, not duplicated"


def test_a_run_with_export_errors_fails_the_task(graph_lab, hybrid, playbook):
    # Not aligned: no soft match, so the engine provisions a new user whose secondary address
    # is the mailbox user's. With the proxy-address quarantine off, that fails the export.
    state = graph_lab.lab("GET", "/state")
    state["features"]["quarantineUponProxyAddressesConflictEnabled"] = False
    graph_lab.lab("PUT", "/state", json=state)
    scale_time(graph_lab, FAST)
    rc, (ran,) = playbook([cycle(graph_lab, hybrid, wait=True)])
    assert ran["failed"] is True, ran
    assert ran["execution"]["state"] == "EntryLevelErrors"
    assert "EntryLevelErrors" in ran["msg"] and "fail_on_errors: false" in ran["msg"], ran["msg"]
    assert "ExportErrors" in str(ran["execution"]["error"])

    rc, (tolerated,) = playbook([cycle(graph_lab, hybrid, wait=True, fail_on_errors=False)])
    assert not tolerated.get("failed") and tolerated["execution"]["state"] == "EntryLevelErrors", tolerated


def test_a_paused_job_is_refused_without_allow_resume_and_nothing_is_sent(graph_lab, hybrid, playbook):
    set_job_code(graph_lab, "Paused")
    scale_time(graph_lab, FAST)  # were the pause ignored, the job would run every 1.2 s meanwhile
    rc, (refused,) = playbook([cycle(graph_lab, hybrid, wait=True)])
    assert refused["failed"] is True, refused
    for words in (hybrid["job"]["job_id"], "is Paused", "allow_resume: true"):
        assert words in refused["msg"], refused["msg"]
    assert refused["job_status"] == "Paused" and refused.get("changed") is False, refused
    assert graph_lab.writes() == [], "no start (or any write) reached Graph"
    status = job_status(graph_lab)
    assert status["code"] == "Paused" and status["lastExecution"] is None, "still paused, never ran"


def test_a_paused_job_is_started_with_allow_resume_and_check_mode_sends_nothing(samba, graph_lab, hybrid, playbook):
    align = {"syncfix.entra.ad_proxy_addresses": connection_args(samba, object=hybrid["name"], primary=hybrid["upn"])}
    rc, (aligned,) = playbook([align])
    assert aligned["changed"] is True, aligned
    set_job_code(graph_lab, "Paused")

    rc, (planned,) = playbook([cycle(graph_lab, hybrid, allow_resume=True)], check=True)
    assert not planned.get("failed") and planned["changed"] is True and planned["cycle_started"] is False, planned
    assert "would start the job" in planned["msg"] and "is Paused" in planned["msg"], planned["msg"]
    assert graph_lab.writes() == [], "check mode sent no write"
    assert job_status(graph_lab)["code"] == "Paused"

    rc, (ran,) = playbook([cycle(graph_lab, hybrid, allow_resume=True)])
    assert rc == 0 and not ran.get("failed"), ran
    assert ran["changed"] is True and ran["cycle_started"] is True and ran["job_status"] == "Paused", ran
    assert ran["execution"]["state"] == "Succeeded" and ran["execution"]["timeEnded"], ran
    assert len(starts(graph_lab)) == 1 and len(graph_lab.writes()) == 1, graph_lab.writes()
    assert job_status(graph_lab)["code"] == "Active", "start resumed the job"
    assert graph_lab.users()[hybrid["upn"]]["onPremisesSyncEnabled"] is True, "the run synced the fixed user"


def test_provision_on_demand_answers_per_object(samba, graph_lab, hybrid, playbook):
    align = {"syncfix.entra.ad_proxy_addresses": connection_args(samba, object=hybrid["name"], primary=hybrid["upn"])}
    playbook([align])
    rc, (ran,) = playbook([cycle(graph_lab, hybrid, provision_objects=[hybrid["dn"]])])
    assert rc == 0 and not ran.get("failed"), ran
    (item,) = ran["provisioned"]
    assert item["object"] == hybrid["dn"] and item["status"] == "Success", item
    assert graph_lab.users()[hybrid["upn"]]["onPremisesSyncEnabled"] is True
    (on_demand,) = [w for w in graph_lab.applied_writes() if w["path"].endswith("/provisionOnDemand")]
    assert on_demand["body"]["parameters"][0]["subjects"] == [{"objectId": hybrid["dn"], "objectTypeName": "user"}]


def test_provision_on_demand_names_the_object_that_failed_and_keeps_the_others(samba, graph_lab, hybrid, playbook, ou):
    align = {"syncfix.entra.ad_proxy_addresses": connection_args(samba, object=hybrid["name"], primary=hybrid["upn"])}
    playbook([align])
    missing = "CN=nobody-%s,%s" % (uuid.uuid4().hex[:6], ou)
    rc, (ran,) = playbook([cycle(graph_lab, hybrid, provision_objects=[missing, hybrid["dn"]])])
    assert ran["failed"] is True, ran
    assert "provisioned 1 of 2 objects" in ran["msg"] and "not provisioned: %s" % missing in ran["msg"], ran["msg"]
    assert [(item["object"], item["status"]) for item in ran["provisioned"]] == [(missing, "Failure"),
                                                                                 (hybrid["dn"], "Success")]
    assert ran["provisioned"][0]["error"], "the failure says why"
    assert graph_lab.users()[hybrid["upn"]]["onPremisesSyncEnabled"] is True, "the second object was still provisioned"

"""The sync simulator against the real Samba DC over LDAPS (certificate validation on) and a
private Graph emulator: every scenario's "sync before any fix" gives the documented outcome,
and the fixes the collection makes are what a following sync honours."""

from __future__ import annotations

import base64
import json
import time
import uuid

import ldap3
import pytest

from lab import scenario
from lab.scenario import ad_side, tenant_side

pytestmark = pytest.mark.lifecycle  # resets the DC for each scenario: runs with the lifecycle tests, last


def outcome(result):
    return {
        "run_result": result["result"],
        "errors": [{"object": e["object"], "error": e["error"], "attribute": e["attribute"]} for e in result["errors"]],
        "joins": [{"object": j["object"], "cloud_user": j["cloud_user"], "by": j["by"]} for j in result["joins"]],
        "provisioned": result["provisioned"],
    }


@pytest.mark.parametrize("name", [p.stem for p in scenario.all_scenarios()])
def test_sync_before_any_fix_gives_the_documented_outcome(load, emulator, name):
    data, _dns = load(name)
    got = outcome(emulator.sync())
    expected = dict(data["expect"])
    cloud_users = expected.pop("cloud_users", None)
    for key, value in expected.items():
        assert got[key] == value, "%s: %s" % (key, got)
    assert cloud_users is not None, "every scenario states the cloud users after the cycle"
    state = emulator.lab("GET", "/state")
    assert scenario.cloud_users_match(cloud_users, state), scenario.cloud_end_state(state)


@pytest.mark.parametrize("features, cloud_addresses, expected", [
    ({"blockSoftMatchEnabled": True}, None, ("error", "AttributeValueMustBeUnique")),
    ({"blockSoftMatchEnabled": False}, None, ("join", "soft-smtp")),
    # The cloud user's primary address differs; only the UPN can match, and only when enabled.
    ({"blockSoftMatchEnabled": False, "softMatchOnUpnEnabled": True}, ["SMTP:vera.price@contoso.com"],
     ("join", "soft-upn")),
], ids=["soft-match-blocked", "soft-match-allowed", "upn-soft-match"])
def test_what_the_vp_sync_does_depends_on_the_tenant_features(load, emulator, features, cloud_addresses, expected):
    data, _dns = load("vp-preprovisioned")
    tenant = tenant_side.tenant_state(data)
    tenant["features"].update(features)
    if cloud_addresses:
        tenant["users"][0].update(proxyAddresses=cloud_addresses, mail=cloud_addresses[0][5:])
    emulator.lab("POST", "/reset", json=tenant)
    result = emulator.sync()
    if expected[0] == "error":
        assert [(e["object"], e["error"]) for e in result["errors"]] == [("vp", expected[1])], result
        assert not emulator.users()["vp@contoso.com"].get("onPremisesSyncEnabled")
    else:
        assert result["result"] == "success", result["errors"]
        assert [(j["object"], j["by"]) for j in result["joins"]] == [("vp", expected[1])]
        vp = emulator.users()["vp@contoso.com"]
        assert vp["onPremisesSyncEnabled"] is True and vp["mailbox"] is True, "joined, not duplicated"
        assert len(emulator.users()) == 1


def ad_guid(dc, dn):
    connection = ad_side.connect(dc)
    connection.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["objectGUID", "mS-DS-ConsistencyGuid"])
    raw = connection.entries[0].entry_raw_attributes
    connection.unbind()
    consistency = raw.get("mS-DS-ConsistencyGuid") or [None]
    return uuid.UUID(bytes_le=raw["objectGUID"][0]), consistency[0]


def test_soft_match_joins_writes_the_anchor_back_and_is_remembered(dc, load, emulator):
    _data, dns = load("soft-match-happy")
    guid, consistency = ad_guid(dc, dns["ann"])
    assert consistency is None
    emulator.sync()

    guid, consistency = ad_guid(dc, dns["ann"])
    assert consistency == guid.bytes_le, "Connect writes the objectGUID into an empty mS-DS-ConsistencyGuid"
    ann = emulator.users()["ann@contoso.com"]
    assert ann["onPremisesSyncEnabled"] is True
    assert ann["onPremisesImmutableId"] == base64.b64encode(guid.bytes_le).decode()
    assert ann["onPremisesDistinguishedName"] == dns["ann"] and ann["onPremisesSamAccountName"] == "ann"
    assert "smtp:ann.lee@contoso.com" in ann["proxyAddresses"]

    again = emulator.sync()
    assert again["result"] == "success"
    assert (again["joins"], again["provisioned"], again["updated"]) == ([], [], []), "joins are remembered"
    # A synced user's anchor is now mastered on-premises: Graph refuses to change it.
    refused = emulator.graph("PATCH", "/users/ann@contoso.com", json={"onPremisesImmutableId": None})
    assert refused.status_code == 400 and "on-premises mastered" in refused.json()["error"]["message"]


def test_hard_match_after_stamping_the_anchor_fixes_the_vp(dc, load, emulator):
    _data, dns = load("vp-preprovisioned")
    guid, _ = ad_guid(dc, dns["vp"])
    anchor = base64.b64encode(guid.bytes_le).decode()
    # The fix syncfix.entra.entra_immutable_id makes: stamp the AD user's anchor on the cloud user.
    stamped = emulator.graph("PATCH", "/users/vp@contoso.com", json={"onPremisesImmutableId": anchor})
    assert stamped.status_code == 204, stamped.text

    result = emulator.sync()
    assert result["result"] == "success", result["errors"]
    assert [(j["object"], j["by"]) for j in result["joins"]] == [("vp", "hard")]
    vp = emulator.users()["vp@contoso.com"]
    assert vp["onPremisesSyncEnabled"] is True and vp["mailbox"] is True, "the same cloud user, mailbox kept"


def test_purging_the_recycle_bin_holder_lets_the_new_user_provision(load, emulator):
    load("recycle-bin")
    (holder,) = emulator.users(deleted=True).values()
    assert emulator.graph("DELETE", "/directory/deletedItems/%s" % holder["id"]).status_code == 204
    result = emulator.sync()
    assert result["result"] == "success" and result["provisioned"] == ["jdoe"], result
    assert emulator.users()["jdoe@contoso.com"]["proxyAddresses"] == ["SMTP:jdoe@contoso.com"]


def test_duplicates_are_quarantined_in_provisioning_errors(load, emulator):
    load("duplicate-on-prem")
    emulator.sync()
    users = emulator.users()
    (error,) = users["mlopez2@contoso.com"]["onPremisesProvisioningErrors"]
    assert (error["category"], error["propertyCausingError"], error["value"]) == (
        "PropertyConflict", "ProxyAddress", "smtp:maria@contoso.com")
    assert "smtp:maria@contoso.com" not in users["mlopez2@contoso.com"]["proxyAddresses"]
    assert "smtp:maria@contoso.com" in users["mlopez@contoso.com"]["proxyAddresses"]
    assert "tlocal@contoso.onmicrosoft.com" in users, "an unverified UPN suffix becomes the initial domain"
    # onPremisesProvisioningErrors comes back through Graph only with $select.
    plain = emulator.graph("GET", "/users/mlopez2@contoso.com").json()
    selected = emulator.graph("GET", "/users/mlopez2@contoso.com",
                              params={"$select": "onPremisesProvisioningErrors"}).json()
    assert "onPremisesProvisioningErrors" not in plain
    assert selected["onPremisesProvisioningErrors"][0]["value"] == "smtp:maria@contoso.com"


def test_hard_match_to_a_privileged_user_is_blocked_by_the_hardening(dc, load, emulator):
    data, dns = load("admin-role")
    guid, _ = ad_guid(dc, dns["itadmin"])
    tenant = tenant_side.tenant_state(data)
    tenant["users"][0]["onPremisesImmutableId"] = base64.b64encode(guid.bytes_le).decode()
    emulator.lab("POST", "/reset", json=tenant)
    (error,) = emulator.sync()["errors"]
    assert error["error"] == "InvalidHardMatch", "MC1262584 names the role block InvalidHardMatch"
    assert "Hard match operation blocked due to security hardening" in error["detail"]


def test_blocked_cloud_takeover_refuses_hard_match(dc, load, emulator):
    data, dns = load("vp-preprovisioned")
    guid, _ = ad_guid(dc, dns["vp"])
    tenant = tenant_side.tenant_state(data)
    tenant["users"][0]["onPremisesImmutableId"] = base64.b64encode(guid.bytes_le).decode()
    tenant["features"]["blockCloudObjectTakeoverThroughHardMatchEnabled"] = True
    emulator.lab("POST", "/reset", json=tenant)
    (error,) = emulator.sync()["errors"]
    assert (error["error"], error["attribute"]) == ("InvalidHardMatch", "sourceAnchor")


def test_deleting_the_ad_user_soft_deletes_the_cloud_user(dc, load, emulator):
    _data, dns = load("soft-match-happy")
    emulator.sync()
    connection = ad_side.connect(dc)
    connection.delete(dns["ann"])
    connection.unbind()
    result = emulator.sync()
    assert result["deleted"] == [dns["ann"]]
    assert "ann@contoso.com" in emulator.users(deleted=True)


def test_cloud_sync_job_start_and_provision_on_demand_run_the_simulator(dc, load, emulator):
    _data, dns = load("soft-match-happy")
    (sp,) = emulator.graph("GET", "/servicePrincipals").json()["value"]
    (job,) = emulator.graph("GET", "/servicePrincipals/%s/synchronization/jobs" % sp["id"]).json()["value"]
    base = "/servicePrincipals/%s/synchronization/jobs/%s" % (sp["id"], job["id"])
    schema = emulator.graph("GET", base + "/schema").json()
    guid, _ = ad_guid(dc, dns["ann"])

    answer = emulator.graph("POST", base + "/provisionOnDemand", json={"parameters": [{
        "ruleId": schema["synchronizationRules"][0]["id"],
        "subjects": [{"objectId": str(guid), "objectTypeName": "user"}]}]})
    assert answer.status_code == 200, answer.text
    # The documented shape: key and value are JSON documents inside strings.
    assert json.loads(answer.json()["key"])["result"] == "Success"
    assert json.loads(answer.json()["value"])["statusInfo"]["status"] == "Success"
    assert emulator.users()["ann@contoso.com"]["onPremisesSyncEnabled"] is True

    load("vp-preprovisioned")
    assert emulator.graph("POST", base + "/start").status_code == 204
    status = emulator.graph("GET", base).json()["status"]
    assert status["lastExecution"]["state"] == "EntryLevelErrors"
    assert status["lastExecution"]["error"]["code"] == "ExportErrors"

    # An Active job also runs by itself every schedule.interval ("synchronizationJob: start":
    # start is for paused or quarantined jobs): PT2M at time_scale 0.01 is 1.2 s, and the
    # scheduled cycle goes through the same simulator.
    started = status["lastExecution"]
    emulator.lab("PATCH", "/config", json={"time_scale": 0.01})
    try:
        deadline = time.monotonic() + 10
        scheduled = started
        while scheduled["activityIdentifier"] == started["activityIdentifier"] and time.monotonic() < deadline:
            time.sleep(0.2)
            scheduled = emulator.graph("GET", base).json()["status"]["lastExecution"]
    finally:
        emulator.lab("PATCH", "/config", json={"time_scale": 1.0})
    assert scheduled["activityIdentifier"] != started["activityIdentifier"], "no scheduled run within 10 s"
    assert scheduled["state"] == "EntryLevelErrors" and scheduled["error"]["code"] == "ExportErrors", scheduled
    assert scheduled["countImported"] > 0, "the simulator read AD"
    assert len([e for e in emulator.lab("GET", "/requests")["value"] if e["path"].endswith("/start")]) == 1, \
        "the scheduled run needed no second start"


def test_paged_read_returns_every_user(dc, load, emulator):
    from lab.sync_simulator import ad_source

    load("duplicate-on-prem")
    connection = ad_source.connect(dc)
    users = ad_source.read_users(connection, [dc["base_dn"]], page_size=1)
    connection.unbind()
    assert [u.sam for u in users] == ["mlopez", "mlopez2", "tlocal"], "all pages, in creation order"


def test_an_export_error_names_the_cloud_object_in_the_way(load, emulator):
    _data, _dns = load("recycle-bin")
    (error,) = emulator.sync()["errors"]
    (holder,) = emulator.users(deleted=True).values()
    assert error["detail"] == "jdoe@contoso.com is already held by cloud user %s (soft-deleted, id %s)" % (
        holder["userPrincipalName"], holder["id"])


def test_rewriting_the_consistency_guid_of_a_synced_user_is_refused_not_relinked(dc, load, emulator):
    _data, dns = load("soft-match-happy")
    emulator.sync()
    connection = ad_side.connect(dc)
    connection.modify(dns["ann"], {"mS-DS-ConsistencyGuid": [(ldap3.MODIFY_REPLACE, [uuid.uuid4().bytes_le])]})
    result = emulator.sync()
    assert [(e["object"], e["error"]) for e in result["errors"]] == [("ann", "SourceAnchorChanged")], result
    guid, _ = ad_guid(dc, dns["ann"])
    assert emulator.users()["ann@contoso.com"]["onPremisesImmutableId"] == base64.b64encode(guid.bytes_le).decode()

    # The way out that works: out of the sync scope for one cycle (Connect's User_ rule), give the
    # cloud user the new anchor while the engine has forgotten the object, then back in scope.
    connection.modify(dns["ann"], {"adminDescription": [(ldap3.MODIFY_REPLACE, ["User_parked"])]})
    assert emulator.sync()["deleted"] == [dns["ann"]]
    parked = emulator.users(deleted=True)["ann@contoso.com"]
    assert parked["onPremisesSyncEnabled"] is False, "DirSyncEnabled switched to False"
    assert emulator.graph("POST", "/directory/deletedItems/%s/restore" % parked["id"]).status_code == 200
    _guid, consistency = ad_guid(dc, dns["ann"])
    new_anchor = base64.b64encode(consistency).decode()
    stamped = emulator.graph("PATCH", "/users/%s" % parked["id"], json={"onPremisesImmutableId": new_anchor})
    assert stamped.status_code == 204, stamped.text
    connection.modify(dns["ann"], {"adminDescription": [(ldap3.MODIFY_DELETE, [])]})
    connection.unbind()
    back = emulator.sync()
    assert back["errors"] == [] and [(j["object"], j["by"]) for j in back["joins"]] == [("ann", "hard")], back
    assert emulator.users()["ann@contoso.com"]["onPremisesImmutableId"] == new_anchor

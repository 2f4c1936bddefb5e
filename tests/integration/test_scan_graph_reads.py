"""The scanner's Graph reads against the lab's Graph emulator, through the real HTTPS GraphClient
and an azure-identity token (the code path a real tenant gets): every rule that has a cause in
the seeded tenant finds it, and the reads are whole-collection pages, never one per object."""

import collections
import re
import ssl
import urllib.parse
from types import SimpleNamespace

import pytest

import entra_tenant as t
import lab_fixtures

lab_fixtures.import_collection_from_checkout()

from ansible_collections.syncfix.entra.plugins.module_utils._graph import auth as graph_auth  # noqa: E402
from ansible_collections.syncfix.entra.plugins.module_utils._scan.cloud import CloudScan  # noqa: E402
from ansible_collections.syncfix.entra.plugins.module_utils._graph.scan_reads import read_tenant  # noqa: E402
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphClient  # noqa: E402

BULK = 1500  # more than one page of 999
ANCHOR = t.NEW_HIRE
STALE = t.OTHER
DN = dict((sam, "CN=%s,OU=Staff,DC=contoso,DC=test" % sam) for sam in ("vp", "itadmin", "jdoe", "sales"))
ONE_OBJECT = re.compile(r"^/users/[^/]+$")


def seeded_tenant():
    users = [t.user("bulk%05d@contoso.com" % n, mail="bulk%05d@contoso.com" % n, mailbox=True) for n in range(BULK)]
    users += [
        t.user("vp@contoso.com", mail="vp@contoso.com", mailbox=True, proxyAddresses=["SMTP:vp@contoso.com"]),
        t.user("vp4821@contoso.onmicrosoft.com", onPremisesSyncEnabled=True, onPremisesImmutableId=ANCHOR,
               onPremisesSamAccountName="vp", onPremisesProvisioningErrors=[
                   {"category": "PropertyConflict", "propertyCausingError": "UserPrincipalName",
                    "value": "vp@contoso.com", "occurredDateTime": "2026-11-01T08:00:00Z"},
                   {"category": "PropertyConflict", "propertyCausingError": "ProxyAddress",
                    "value": "SMTP:vp@contoso.com", "occurredDateTime": "2026-11-01T08:00:00Z"}]),
        t.user("itadmin@contoso.com", roles=[{"name": "Global Administrator", "assignment": "active"}]),
        t.user("stale@contoso.com", onPremisesSyncEnabled=True, onPremisesImmutableId=STALE),
        t.user("jdoe@contoso.com", mail="jdoe@contoso.com", mailbox=True, proxyAddresses=["SMTP:jdoe@contoso.com"],
               deletedDateTime=t.days_ago(5)),
    ]
    return {
        "domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": "contoso.com", "isDefault": True}],
        "features": {"blockSoftMatchEnabled": True},
        "users": users,
        "groups": [{"displayName": "Sales", "mail": "sales@contoso.com"},
                   {"displayName": "Helpdesk admins", "isAssignableToRole": True, "members": ["vp@contoso.com"],
                    "roles": [{"name": "Helpdesk Administrator"}]}],
        "contacts": [{"displayName": "Partner", "mail": "partner@contoso.com", "onPremisesProvisioningErrors": [
            {"category": "PropertyConflict", "propertyCausingError": "ProxyAddress", "value": "SMTP:partner@contoso.com",
             "occurredDateTime": "2026-11-02T08:00:00Z"}]}],
        "size": "L",
    }


def ad_index():
    return SimpleNamespace(
        addresses={"vp@contoso.com": DN["vp"], "itadmin@contoso.com": DN["itadmin"], "jdoe@contoso.com": DN["jdoe"],
                   "sales@contoso.com": DN["sales"]},
        anchors={ANCHOR: DN["vp"]}, names=dict((dn, sam) for sam, dn in DN.items()),
        classes=dict((dn, "user") for dn in DN.values()),
        soft_keys=dict((dn, ("%s@contoso.com" % sam, "%s@contoso.com" % sam)) for sam, dn in DN.items()))


@pytest.fixture
def client(graph_lab):
    facts = graph_lab.facts
    token = graph_auth.token_provider(dict(graph_lab.auth, allow_custom_authority=True), verify=facts["ca_path"])
    made = GraphClient(facts["graph_endpoint"], token, verify=ssl.create_default_context(cafile=facts["ca_path"]))
    yield made
    made.close()


def graph_reads(graph_lab):
    """The /v1.0 requests the scan sent, $batch items included, the token requests left out."""
    return [e for e in graph_lab.requests() if not e["path"].endswith("/oauth2/v2.0/token")]


def test_read_tenant_finds_each_seeded_cause_with_bulk_reads(graph_lab, client):
    graph_lab.load(seeded_tenant())
    reader = read_tenant(client, {})
    scan = CloudScan(ad_index(), reader.domains, reader.features, {})
    findings = reader.scan(scan)

    by_rule = collections.defaultdict(list)
    for item in findings:
        by_rule[item["rule"]].append(item)
    names = dict((rule, sorted(f["common_name"] for f in items)) for rule, items in by_rule.items())
    assert names == {
        "provisioning_error": ["Partner", "vp4821", "vp4821"],
        "resiliency_placeholder": ["vp4821"],
        "preprovisioned_cloud_user": ["itadmin", "vp"],
        "admin_role_match": ["itadmin@contoso.com", "vp@contoso.com"],
        "recycle_bin_holder": ["jdoe"],
        "object_type_mismatch": ["Sales"],
        "orphaned_anchor": ["stale"],
        "sync_feature": ["tenant"],  # blockSoftMatchEnabled; the defaults are not reported
    }
    (placeholder,) = by_rule["resiliency_placeholder"]
    users = graph_lab.users()
    assert placeholder["conflicts_with"] == users["vp@contoso.com"]["id"]
    # The collided user's primary SMTP address and UPN are the AD user's (and the emulator's
    # mailNickname its sAMAccountName): a high proposal, by DN and object id, unconfirmed.
    assert (placeholder["link"]["ad"], placeholder["link"]["cloud"]) == (DN["vp"], users["vp@contoso.com"]["id"])
    assert placeholder["link"]["proposal"]["confidence"] == "high"
    assert placeholder["link"]["proposal"]["confirmed"] is False
    assert "mailNickname" in placeholder["link"]["proposal"]["evidence"][-1], "mailNickname is read in the list"
    (recycled,) = by_rule["recycle_bin_holder"]
    assert recycled["link"] is None, "a soft-deleted holder is never proposed"
    helpdesk = next(f for f in by_rule["admin_role_match"] if f["common_name"] == "vp@contoso.com")
    assert "Helpdesk Administrator" in helpdesk["message"]  # held through the role-assignable group
    assert reader.warnings == []
    assert scan.counts == {"users": BULK + 4, "groups": 2, "contacts": 1, "deleted_users": 1}

    reads = graph_reads(graph_lab)
    assert all(e["method"] == "GET" or e["path"] == "/$batch" for e in reads), "the scan only reads"
    paths = collections.Counter(e["path"] for e in reads)
    assert paths["/users"] == 2, "1,504 users in two pages of 999"
    assert not [p for p in paths if ONE_OBJECT.match(p)], "no user is read on its own"
    assert all("$select" in urllib.parse.parse_qs(e["query"]) for e in reads
               if e["path"] in ("/users", "/groups", "/contacts", "/directory/deletedItems/microsoft.graph.user"))
    # The only per-user reads: memberOf of the two users a match would hit, in one $batch.
    assert sorted(p for p in paths if p.endswith("/memberOf")) == sorted(
        "/users/%s/memberOf" % users[upn]["id"] for upn in ("itadmin@contoso.com", "vp@contoso.com"))
    assert paths["/$batch"] == 1
    # domains, features, 2 user pages, groups, contacts, deleted users, assignments, eligibilities,
    # one $batch of memberOf, role names: 11 requests for 1,508 objects.
    assert client.stats["requests"] == len([e for e in reads if not e.get("batch_item")]) == 11, paths


def test_without_ad_the_reads_are_the_collections_only(graph_lab, client):
    graph_lab.load(seeded_tenant())
    reader = read_tenant(client, {"page_size": 500, "deleted_users": False})
    findings = reader.scan(CloudScan(None, reader.domains, reader.features, {"property": "UserPrincipalName"}))
    assert sorted(f["rule"] for f in findings) == ["provisioning_error", "resiliency_placeholder", "sync_feature"]
    paths = collections.Counter(e["path"] for e in graph_reads(graph_lab))
    assert paths["/users"] == 4, "1,504 users in pages of 500"
    assert not [p for p in paths if "roleManagement" in p or "deletedItems" in p or p.endswith("/memberOf")]


def test_feed_streams_what_scan_returns_and_the_caller_finishes(graph_lab, client):
    """The module's loop: ``feed`` yields as objects arrive, then the caller calls ``finish``."""
    graph_lab.load(seeded_tenant())
    reader = read_tenant(client, {"error_filter_keys_are_ignored": True})
    assert reader.verified_domains == ["contoso.com", "contoso.onmicrosoft.com"]
    scan = CloudScan(ad_index(), reader.domains, reader.features, None)
    streamed = reader.feed(scan)
    first = next(streamed)
    assert first["rule"] == "preprovisioned_cloud_user"
    rest = list(streamed) + scan.finish()
    again = read_tenant(client).scan(CloudScan(ad_index(), reader.domains, reader.features, None))
    assert sorted((f["rule"], f["object"]) for f in [first] + rest) == sorted((f["rule"], f["object"]) for f in again)

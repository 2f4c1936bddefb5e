"""The planning reads (issue 18) against the lab's Graph emulator, through the real HTTPS
GraphClient and an azure-identity token: proxy-address lookups are or-chains of 15 expressions,
role holdings read the tenant's grants once, and nothing is read per link."""

import math
import ssl
import urllib.parse
import uuid

import pytest

import entra_tenant as t
import lab_fixtures

lab_fixtures.import_collection_from_checkout()

from ansible_collections.syncfix.entra.plugins.module_utils._backends import link_plan as _link_facts  # noqa: E402
from ansible_collections.syncfix.entra.plugins.module_utils._sync import prediction as sync  # noqa: E402
from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory  # noqa: E402
from ansible_collections.syncfix.entra.plugins.module_utils._graph import auth as graph_auth  # noqa: E402
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphClient  # noqa: E402

USERS = 100
ADDRESSES = 40
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"


def alias(n):
    return "alias%03d@contoso.com" % n


def tenant():
    users = [t.user("user%03d@contoso.com" % n, mail="user%03d@contoso.com" % n, mailbox=True,
                    proxyAddresses=["SMTP:user%03d@contoso.com" % n, "smtp:%s" % alias(n).upper()]) for n in range(USERS)]
    users[0]["roles"] = [{"name": "Global Administrator"}]
    users[1]["roles"] = [{"name": "Global Administrator", "assignment": "eligible"}]
    users += [t.user("outside@contoso.com", roles=[{"name": "User Administrator"}]),
              t.user("binned@contoso.com", proxyAddresses=["SMTP:binned.alias@contoso.com"],
                     deletedDateTime=t.days_ago(3))]
    return {
        "domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": "contoso.com", "isDefault": True}],
        "users": users,
        "groups": [{"displayName": "Helpdesk admins", "isAssignableToRole": True,
                    "members": ["user002@contoso.com", "user003@contoso.com"], "roles": [{"name": "Helpdesk Administrator"}]},
                   {"displayName": "Team", "mail": "team@contoso.com", "proxyAddresses": ["SMTP:team@contoso.com"]}],
        "contacts": [{"displayName": "Partner", "mail": "partner@contoso.com",
                      "proxyAddresses": ["smtp:partner@contoso.com"]}],
        "size": "M",
    }


def connect(graph_lab, auth=None):
    facts = graph_lab.facts
    token = graph_auth.token_provider(dict(auth or graph_lab.auth), verify=facts["ca_path"])
    return GraphClient(facts["graph_endpoint"], token, verify=ssl.create_default_context(cafile=facts["ca_path"]))


@pytest.fixture
def client(graph_lab):
    graph_lab.load(tenant())
    made = connect(graph_lab)
    yield made
    made.close()


def items(graph_lab, path=None, proxy=None):
    """The $batch items sent, to ``path``, and with (or without) a proxyAddresses filter."""
    found = []
    for entry in graph_lab.requests():
        if not entry.get("batch_item") or (path and entry["path"] != path):
            continue
        expression = urllib.parse.parse_qs(entry["query"]).get("$filter", [""])[0]
        if proxy is None or proxy == ("proxyAddresses" in expression):
            found.append(dict(entry, filter=expression))
    return found


def test_forty_addresses_are_found_with_three_chains_and_told_apart(graph_lab, client):
    ids = dict((u["userPrincipalName"], u["id"]) for u in graph_lab.users().values())
    selectors = [alias(n) for n in range(ADDRESSES)] + ["nobody@contoso.com", "binned.alias@contoso.com"]
    lookup = directory.find_users(client, selectors)
    # the tenant keeps addresses unique (the lab refuses a tenant where two users share one), so
    # nothing is ambiguous here; the unit tests cover that
    assert lookup.ambiguous == {}
    assert dict((s, u["id"]) for s, u in lookup.found.items()) == dict(
        (alias(n), ids["user%03d@contoso.com" % n]) for n in range(ADDRESSES))
    assert lookup.missing == ["nobody@contoso.com", "binned.alias@contoso.com"], "a soft-deleted holder is no active user"
    chains = items(graph_lab, "/users", proxy=True)
    assert len(chains) == math.ceil(len(selectors) / 15.0) == 3
    assert all(c["status"] == 200 and c["filter"].count(" or ") <= 14 for c in chains)
    assert len(items(graph_lab, "/users", proxy=False)) == 3, "the UPN in lists"

    held = selectors[:-1] + ["team@contoso.com", "PARTNER@contoso.com"]
    assert sorted((kind, o["displayName"]) for kind, o in directory.mail_objects(client, held)) == [
        ("contact", "Partner"), ("group", "Team")]
    assert (len(items(graph_lab, "/groups")), len(items(graph_lab, "/contacts"))) == (3, 3)


def test_roles_are_read_once_for_a_hundred_users(graph_lab, client):
    users = graph_lab.users()
    ids = [users["user%03d@contoso.com" % n]["id"] for n in range(USERS)]
    before = client.stats["requests"]
    holdings = directory.role_holdings(client, ids)
    assert holdings[ids[0]] == {"active": [GLOBAL_ADMIN], "eligible": []}
    assert holdings[ids[1]] == {"active": [], "eligible": [GLOBAL_ADMIN]}
    assert holdings[ids[2]] == holdings[ids[3]] == {"active": [HELPDESK], "eligible": []}
    assert all(holdings[i] == {"active": [], "eligible": []} for i in ids[4:])
    # the grants in one envelope; the members of the group and of the admin outside the plan in another
    assert client.stats["requests"] - before == 2
    assert sorted(e["path"].rsplit("/", 1)[-1] for e in items(graph_lab)) == [
        "members", "members", "roleAssignments", "roleEligibilityScheduleInstances"]
    assert not [e for e in graph_lab.requests() if "/memberOf" in e["path"]]


def test_an_app_that_may_not_read_groups_gets_the_same_roles_from_the_users_memberships(graph_lab, client):
    upns = ["user%03d@contoso.com" % n for n in range(6)]

    def by_upn(graph):
        users = graph_lab.users()
        holdings = directory.role_holdings(graph, [users[upn]["id"] for upn in upns])
        return dict((upn, holdings[users[upn]["id"]]) for upn in upns)

    expected = by_upn(client)
    app = {"clientId": str(uuid.uuid4()), "clientSecret": "s-%s" % uuid.uuid4().hex,
           "permissions": ["User.Read.All", "RoleManagement.Read.Directory"]}
    graph_lab.load(dict(tenant(), apps=[app]))
    narrow = connect(graph_lab, dict(graph_lab.auth, client_id=app["clientId"], client_secret=app["clientSecret"]))
    try:
        assert by_upn(narrow) == expected
    finally:
        narrow.close()
    refused = [e for e in graph_lab.requests() if e["path"].endswith("/members")]
    assert refused and all(e["status"] == 403 for e in refused)
    assert len([e for e in graph_lab.requests() if e["path"].endswith("/memberOf")]) == 6


def test_read_cloud_sends_no_request_per_link(graph_lab, client):
    ad_users = [sync.AdUser("CN=u%03d,OU=Staff,DC=contoso,DC=test" % n, uuid.uuid5(uuid.NAMESPACE_URL, str(n)),
                            sam="u%03d" % n, upn="user%03d@contoso.com" % n, mail=alias(n),
                            proxy_addresses=["SMTP:%s" % alias(n), "smtp:user%03d@contoso.com" % n])
                for n in range(USERS)]
    facts = _link_facts.read_cloud(client, ad_users, ["user000@contoso.com"])
    assert facts.found["user000@contoso.com"].roles[0]["name"] == "Global Administrator"
    per_list = math.ceil(2 * USERS / 15.0)  # each AD user's UPN and mail
    # find users (in lists, then chains for what no UPN names), anchors, both mail-object
    # collections, the role grants: each ceil(n/15) items at most, in envelopes of 20
    batched = items(graph_lab)
    assert len(batched) <= 4 * per_list + math.ceil(USERS / 15.0) + 2 + 2, len(batched)
    assert not [e for e in graph_lab.requests() if e["path"].endswith("/memberOf")]
    assert client.stats["requests"] < USERS / 4.0, client.stats

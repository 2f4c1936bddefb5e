"""How many requests the bulk reads send, and that answers shared by a whole filter are told apart
per selector: against a fake tenant that evaluates the filters the adapter writes, as Graph does
(strings compared case-insensitively), and refuses a clause of more than 15 expressions."""

import math
import re
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import BATCH_LIMIT, GraphError

LITERAL = r"'((?:[^']|'')*)'"
IN_FILTER = re.compile(r"^(\w+) in \((.*)\)$")
ANY_SMTP = re.compile(r"proxyAddresses/any\(p:p eq %s\)" % LITERAL)
MEMBERS = re.compile(r"^/groups/([^/]+)/members$")
MEMBER_OF = re.compile(r"^/users/([^/]+)/memberOf$")
ASSIGNMENTS = "/roleManagement/directory/roleAssignments"
ELIGIBILITIES = "/roleManagement/directory/roleEligibilityScheduleInstances"
P2_REFUSAL = {"error": {"code": "AadPremiumLicenseRequired", "message": "The tenant needs to have Microsoft Entra ID "
                                                                        "P2 or Microsoft Entra ID Governance license."}}


def literals(text):
    return [value.replace("''", "'") for value in re.findall(LITERAL, text)]


class Tenant:
    """A client whose ``batch`` answers from these objects; it counts envelopes (20 items each)."""

    def __init__(self, users=(), groups=(), contacts=(), assignments=(), eligibilities=(), p2=True,
                 groups_readable=True):
        self.collections = {"/users": list(users), "/groups": list(groups), "/contacts": list(contacts)}
        self.grants = {ASSIGNMENTS: list(assignments), ELIGIBILITIES: list(eligibilities)}
        self.p2, self.groups_readable = p2, groups_readable
        self.items, self.envelopes, self.calls = [], 0, 0

    def batch(self, requests):
        self.calls += 1
        self.envelopes += math.ceil(len(requests) / float(BATCH_LIMIT))
        self.items.extend(requests)
        return [self.answer(r) for r in requests]

    def answer(self, request):
        parts = urlsplit(request["url"])
        query = dict((k, v[0]) for k, v in parse_qs(parts.query).items())
        if parts.path in self.collections:
            chosen = query["$select"].split(",")
            return self.ok([dict((k, v) for k, v in o.items() if k in chosen)
                            for o in self.collections[parts.path] if self.matches(query["$filter"], o)])
        if parts.path in self.grants:
            if parts.path == ELIGIBILITIES and not self.p2:
                return {"status": 400, "headers": {}, "body": P2_REFUSAL}
            return self.ok(self.grants[parts.path])
        group = MEMBERS.match(parts.path)
        if group and not self.groups_readable:
            return {"status": 403, "headers": {}, "body": {"error": {"code": "Authorization_RequestDenied",
                                                                     "message": "Insufficient privileges"}}}
        member = MEMBER_OF.match(parts.path)
        if member:
            return self.ok([{"id": g["id"]} for g in self.collections["/groups"] if member.group(1) in g.get("members", [])])
        if group:
            held = [g for g in self.collections["/groups"] if g["id"] == group.group(1)]
            if not held:
                return {"status": 404, "headers": {}, "body": {"error": {"code": "Request_ResourceNotFound",
                                                                         "message": "no such group"}}}
            return self.ok([{"id": m} for m in held[0].get("members", [])])
        raise AssertionError("unexpected read %s" % request["url"])

    @staticmethod
    def ok(values):
        return {"status": 200, "headers": {}, "body": {"value": values}}

    @staticmethod
    def matches(expression, obj):
        listed = IN_FILTER.match(expression)
        if listed:
            values = literals(listed.group(2))
            assert len(values) <= directory.IN_LIMIT, "an in list of %d values" % len(values)
            return (obj.get(listed.group(1)) or "").lower() in [v.lower() for v in values]
        wanted = literals(expression)
        assert expression == " or ".join("proxyAddresses/any(p:p eq '%s')" % w.replace("'", "''") for w in wanted), \
            "only or-chained any(p:p eq ...) expressions: %s" % expression
        assert len(wanted) <= directory.IN_LIMIT, "a chain of %d expressions" % len(wanted)
        held = set(p.lower() for p in obj.get("proxyAddresses") or [])
        return any(w.lower() in held for w in wanted)

    def count(self, path=None, proxy=None):
        """Items sent to ``path``, only the proxy-address ones (or only the others) when asked."""
        return len([r for r in self.items if (path is None or urlsplit(r["url"]).path == path)
                    and (proxy is None or ("proxyAddresses" in parse_qs(urlsplit(r["url"]).query).get("$filter", [""])[0])
                         == proxy)])


TWO = "0000aaaa-0000-4000-8000-000000000002"


def user(n, upn=None, proxies=(), **properties):
    return dict({"id": "u-%04d" % n, "userPrincipalName": upn or "user%04d@contoso.com" % n,
                 "proxyAddresses": list(proxies)}, **properties)


def test_forty_addresses_take_three_or_chained_requests_per_collection():
    addresses = ["alias%02d@contoso.com" % n for n in range(40)]
    users = [user(n, proxies=["SMTP:user%04d@contoso.com" % n, "smtp:%s" % a]) for n, a in enumerate(addresses)]
    tenant = Tenant(users, groups=[{"id": "g1", "proxyAddresses": ["SMTP:alias07@contoso.com"]}],
                    contacts=[{"id": "c1", "proxyAddresses": ["smtp:ALIAS31@contoso.com"]}])
    lookup = directory.find_users(tenant, addresses)
    assert sorted(u["id"] for u in lookup.found.values()) == [u["id"] for u in users]
    assert tenant.count("/users", proxy=False) == 3, "ceil(40/15) userPrincipalName in lists"
    assert tenant.count("/users", proxy=True) == 3, "ceil(40/15) or-chains of proxyAddresses/any"
    assert directory.mail_objects(tenant, addresses) == [
        ("group", {"id": "g1", "proxyAddresses": ["SMTP:alias07@contoso.com"]}),
        ("contact", {"id": "c1", "proxyAddresses": ["smtp:ALIAS31@contoso.com"]})]
    assert (tenant.count("/groups"), tenant.count("/contacts")) == (3, 3)
    assert tenant.calls == 3, "ids and UPNs together, then the proxy addresses, then groups and contacts together"
    assert not [r for r in tenant.items if "any(p:p in" in r["url"]]


def test_answers_to_a_chain_are_told_apart_per_selector():
    users = [
        user(1, proxies=["SMTP:shared@contoso.com"]),
        user(2, proxies=["smtp:Shared@Contoso.com", "SMTP:two@contoso.com"], id=TWO),
        user(3, proxies=["SMTP:Mixed.Case@Contoso.com", "smtp:other@contoso.com", "x500:/o=shared@contoso.com"]),
        user(4, upn="upn@contoso.com", proxies=["SMTP:primary4@contoso.com"]),
        user(5, proxies=["smtp:first5@contoso.com", "smtp:second5@contoso.com"]),
    ]
    tenant = Tenant(users)
    # first5 and second5 (user 5's two aliases) land in different chains: one user, not two.
    padding = ["nobody%02d@contoso.com" % n for n in range(13)]
    selectors = ["shared@contoso.com", "mixed.case@contoso.com", "MIXED.CASE@CONTOSO.COM", "upn@contoso.com",
                 "first5@contoso.com"] + padding + ["second5@contoso.com", "missing@contoso.com", TWO.upper()]
    lookup = directory.find_users(tenant, selectors)
    assert sorted(u["id"] for u in lookup.ambiguous["shared@contoso.com"]) == [TWO, "u-0001"]
    assert set(lookup.ambiguous) == {"shared@contoso.com"}
    assert dict((s, u["id"]) for s, u in lookup.found.items()) == {
        "mixed.case@contoso.com": "u-0003", "MIXED.CASE@CONTOSO.COM": "u-0003", "upn@contoso.com": "u-0004",
        "first5@contoso.com": "u-0005", "second5@contoso.com": "u-0005", TWO.upper(): TWO}
    assert lookup.missing == padding + ["missing@contoso.com"]
    chains = [parse_qs(urlsplit(r["url"]).query)["$filter"][0] for r in tenant.items
              if "proxyAddresses/any" in unquote_plus(r["url"])]
    assert [len(literals(c)) for c in chains] == [15, 3], "18 addresses, each once whatever its case"
    assert "smtp:first5@contoso.com" in chains[0] and "smtp:second5@contoso.com" in chains[1]


def test_proxy_addresses_are_read_to_tell_users_apart_but_only_returned_when_selected():
    tenant = Tenant([user(1, proxies=["SMTP:alias@contoso.com"], mail="alias@contoso.com")])
    lookup = directory.find_users(tenant, ["alias@contoso.com"], select="id,mail")
    assert lookup.found == {"alias@contoso.com": {"id": "u-0001", "mail": "alias@contoso.com"}}
    (proxy_read,) = [r for r in tenant.items if "proxyAddresses/any" in unquote_plus(r["url"])]
    assert parse_qs(urlsplit(proxy_read["url"]).query)["$select"] == ["id,mail,proxyAddresses"]


def test_immutable_id_reads_carry_fifteen_values_each():
    anchors = ["QUJD%04d==" % n for n in range(40)]
    tenant = Tenant([user(n, onPremisesImmutableId=a) for n, a in enumerate(anchors)])
    assert len(directory.users_by_immutable_id(tenant, anchors)) == 40
    assert sorted(len(h) for h in directory.anchor_holders(tenant, anchors).values()) == [1] * 40
    assert tenant.count("/users") == 6 and tenant.envelopes == 2
    assert all(r["headers"] == {"ConsistencyLevel": "eventual"} for r in tenant.items)


GLOBAL_ADMIN, HELPDESK, READER = "62e90394", "729827e3", "f2ef992c"


def role_tenant(n_users, p2=True, groups_readable=True):
    """``n_users`` users; two hold roles directly, a role-assignable group gives its members one,
    a service principal and an admin outside the plan hold roles too."""
    users = [user(n) for n in range(n_users)]
    groups = [{"id": "g-helpdesk", "members": ["u-0002", "u-0003", "u-9999"]}]
    assignments = [{"principalId": "u-0000", "roleDefinitionId": GLOBAL_ADMIN},
                   {"principalId": "g-helpdesk", "roleDefinitionId": HELPDESK},
                   {"principalId": "sp-backup", "roleDefinitionId": READER},
                   {"principalId": "u-9999", "roleDefinitionId": GLOBAL_ADMIN}]
    eligibilities = [{"principalId": "u-0001", "roleDefinitionId": GLOBAL_ADMIN},
                     {"principalId": "g-helpdesk", "roleDefinitionId": READER}]
    return Tenant(users, groups=groups, assignments=assignments, eligibilities=eligibilities, p2=p2,
                  groups_readable=groups_readable)


@pytest.mark.parametrize("n_users", [10, 100])
def test_role_reads_do_not_grow_with_the_users(n_users):
    tenant = role_tenant(n_users)
    ids = [u["id"] for u in tenant.collections["/users"]]
    holdings = directory.role_holdings(tenant, ids)
    assert holdings["u-0000"] == {"active": [GLOBAL_ADMIN], "eligible": []}
    assert holdings["u-0001"] == {"active": [], "eligible": [GLOBAL_ADMIN]}
    assert holdings["u-0002"] == holdings["u-0003"] == {"active": [HELPDESK], "eligible": [READER]}
    assert [u for u, kinds in holdings.items() if kinds["active"] or kinds["eligible"]] == ids[:4]
    # Both grant lists in one envelope, then the members of the principals that are not these
    # users (the group, the service principal, the admin outside the plan) in another.
    assert (tenant.envelopes, len(tenant.items)) == (2, 5)
    assert sorted(MEMBERS.match(urlsplit(r["url"]).path).group(1) for r in tenant.items if "/members" in r["url"]) == [
        "g-helpdesk", "sp-backup", "u-9999"]
    assert all(parse_qs(urlsplit(r["url"]).query)["$select"] == ["principalId,roleDefinitionId"]
               for r in tenant.items if "roleManagement" in r["url"])


def test_a_soft_deleted_user_holds_its_own_roles_not_its_groups():
    tenant = role_tenant(4)
    holdings = directory.role_holdings(tenant, ["u-0000", "u-0002", "u-0003"], active_ids=["u-0000", "u-0002"])
    assert holdings["u-0002"] == {"active": [HELPDESK], "eligible": [READER]}
    assert holdings["u-0003"] == {"active": [], "eligible": []}


def test_no_group_is_read_when_no_active_user_could_be_its_member():
    tenant = role_tenant(4)
    assert directory.role_holdings(tenant, ["u-0000"], active_ids=[]) == {"u-0000": {"active": [GLOBAL_ADMIN],
                                                                                     "eligible": []}}
    assert not [r for r in tenant.items if "/members" in r["url"]]


def test_without_p2_the_group_still_gives_its_active_roles():
    tenant = role_tenant(4, p2=False)
    holdings = directory.role_holdings(tenant, ["u-0001", "u-0002"])
    assert holdings == {"u-0001": {"active": [], "eligible": []}, "u-0002": {"active": [HELPDESK], "eligible": []}}


def test_a_group_member_read_lost_in_the_batch_is_an_error():
    tenant = role_tenant(4)
    answer = tenant.answer
    tenant.answer = lambda request: None if "/members" in request["url"] else answer(request)
    with pytest.raises(GraphError, match="read role group members /groups/g-helpdesk/members.*no answer"):
        directory.role_holdings(tenant, ["u-0002"])


def test_no_user_no_role_read():
    tenant = role_tenant(4)
    assert directory.role_holdings(tenant, []) == {}
    assert tenant.items == []


def test_an_app_that_may_not_read_groups_reads_each_users_memberships_instead():
    """entra_immutable_id's permissions (User.ReadWrite.All, RoleManagement.Read.Directory): the
    group member read is refused, so the users' own memberships say which role groups hold them."""
    readable, refused = role_tenant(10), role_tenant(10, groups_readable=False)
    ids = [u["id"] for u in readable.collections["/users"]]
    assert directory.role_holdings(refused, ids, active_ids=ids[:3]) == directory.role_holdings(readable, ids,
                                                                                                active_ids=ids[:3])
    assert sorted(urlsplit(r["url"]).path for r in refused.items if "/memberOf" in r["url"]) == [
        "/users/u-0000/memberOf", "/users/u-0001/memberOf", "/users/u-0002/memberOf"]

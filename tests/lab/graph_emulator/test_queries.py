"""Collection queries on /users, over raw HTTP.

Sources: "List users" / "Get user" (default property set, `$top` 1–999, 404
Request_ResourceNotFound), "Advanced query capabilities on Microsoft Entra ID objects"
(`ConsistencyLevel: eventual` + `$count=true`, else 400 Request_UnsupportedQuery; which
`$filter` clauses are default), "Paging Microsoft Graph data in your app" (@odata.nextLink),
Microsoft Graph known issues ("Some limitations apply to query parameters": 15 expressions in a
default query's filter clause), "List group members" (direct members, 404 for what is no group,
GroupMember.Read.All or higher).
Each test fails if the emulator stops enforcing its rule.
"""

from __future__ import annotations

import pytest

ALICE = "aaaaaaaa-0000-4000-8000-000000000001"
BOB = "aaaaaaaa-0000-4000-8000-000000000002"
CAROL = "aaaaaaaa-0000-4000-8000-000000000003"
GONE = "aaaaaaaa-0000-4000-8000-000000000005"
SALES = "bbbbbbbb-0000-4000-8000-000000000001"
READER = "11111111-1111-4111-8111-111111111111"  # User.Read.All (conftest.tenant())
EVENTUAL = {"ConsistencyLevel": "eventual"}


def graph_error(answer):
    return answer.json()["error"]


def _upns(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return sorted(u["userPrincipalName"] for u in answer.json()["value"])


@pytest.mark.parametrize("expression, expected", [
    ("userPrincipalName eq 'ALICE@contoso.com'", ["alice@contoso.com"]),
    ("mail eq 'alice@CONTOSO.com'", ["alice@contoso.com"]),
    ("id eq '%s'" % BOB, ["bob@contoso.com"]),
    ("userPrincipalName in ('alice@contoso.com', 'carol@contoso.com')", ["alice@contoso.com", "carol@contoso.com"]),
    ("mail in ('alice@contoso.com', 'nobody@contoso.com')", ["alice@contoso.com"]),
    ("id in ('%s', '%s')" % (ALICE, BOB), ["alice@contoso.com", "bob@contoso.com"]),
    ("startswith(userPrincipalName, 'CA')", ["carol@contoso.com"]),
    ("startswith(displayName, 'd')", ["dave@fed.contoso.com"]),
    ("startswith(mail, 'ALICE@')", ["alice@contoso.com"]),
])
def test_default_filters(lab, expression, expected):
    assert _upns(lab.graph("GET", "/users", params={"$filter": expression})) == expected


def test_proxy_addresses_any_is_a_default_filter_and_ignores_case(lab):
    # The soft-match lookup: the address as stored is "smtp:alice@contoso.onmicrosoft.com".
    expression = "proxyAddresses/any(p:p eq 'SMTP:ALICE@contoso.onmicrosoft.com')"
    assert _upns(lab.graph("GET", "/users", params={"$filter": expression})) == ["alice@contoso.com"]
    expression = "proxyAddresses/any(p:p eq 'smtp:nobody@contoso.com')"
    assert _upns(lab.graph("GET", "/users", params={"$filter": expression})) == []


@pytest.mark.parametrize("headers, params, code", [
    ({}, {}, "Request_UnsupportedQuery"),
    (EVENTUAL, {}, "Request_UnsupportedQuery"),
    ({}, {"$count": "true"}, "Request_BadRequest"),
], ids=["neither", "header-only", "count-only"])
def test_immutable_id_filter_needs_eventual_and_count(lab, headers, params, code):
    params = dict(params, **{"$filter": "onPremisesImmutableId eq 'Ym9iLWFuY2hvcg=='"})
    answer = lab.graph("GET", "/users", headers=headers, params=params)
    assert answer.status_code == 400
    error = graph_error(answer)
    assert error["code"] == code
    if code == "Request_UnsupportedQuery":
        assert "onPremisesImmutableId" in error["message"]


def test_immutable_id_filter_with_eventual_and_count(lab):
    answer = lab.graph("GET", "/users", headers=EVENTUAL,
                       params={"$filter": "onPremisesImmutableId eq 'Ym9iLWFuY2hvcg=='", "$count": "true"})
    assert _upns(answer) == ["bob@contoso.com"]
    assert answer.json()["@odata.count"] == 1


def test_count_without_consistency_level_is_refused(lab):
    answer = lab.graph("GET", "/users", params={"$count": "true"})
    assert answer.status_code == 400
    assert "$count" in graph_error(answer)["message"]
    answer = lab.graph("GET", "/users", headers=EVENTUAL, params={"$count": "true"})
    assert answer.status_code == 200 and answer.json()["@odata.count"] == 4


def test_select_limits_properties(lab):
    answer = lab.graph("GET", "/users", params={"$select": "id,mail"})
    assert answer.status_code == 200
    assert all(set(user) == {"id", "mail"} for user in answer.json()["value"])


def test_unknown_property_in_select_is_400_naming_it(lab):
    answer = lab.graph("GET", "/users", params={"$select": "id,shoeSize"})
    assert answer.status_code == 400
    assert "shoeSize" in graph_error(answer)["message"]
    answer = lab.graph("GET", "/users/" + ALICE, params={"$select": "shoeSize"})
    assert answer.status_code == 400
    assert "shoeSize" in graph_error(answer)["message"]


def test_top_1000_is_refused_999_is_accepted(lab):
    answer = lab.graph("GET", "/users", params={"$top": "1000"})
    assert answer.status_code == 400
    assert "1000" in graph_error(answer)["message"]
    assert lab.graph("GET", "/users", params={"$top": "999"}).status_code == 200


def test_paging_returns_every_user_exactly_once(lab):
    state = lab.lab("GET", "/state").json()
    state["users"] += [{"userPrincipalName": "bulk%03d@contoso.com" % n} for n in range(250)]
    assert lab.lab("PUT", "/state", json=state).status_code == 200
    seen, pages = [], 0
    answer = lab.graph("GET", "/users", params={"$select": "id,userPrincipalName"})
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["value"]) <= 100  # the default page size of /users
        seen += [u["userPrincipalName"] for u in body["value"]]
        pages += 1
        if "@odata.nextLink" not in body:
            break
        answer = lab.graph("GET", body["@odata.nextLink"])
    assert pages == 3
    assert len(seen) == len(set(seen)) == 254  # 250 + the four active users of the test tenant


def test_next_link_keeps_select_and_top(lab):
    answer = lab.graph("GET", "/users", params={"$select": "id", "$top": "2"})
    body = answer.json()
    assert len(body["value"]) == 2
    second = lab.graph("GET", body["@odata.nextLink"]).json()
    assert all(set(u) == {"id"} for u in second["value"])
    assert {u["id"] for u in second["value"]}.isdisjoint({u["id"] for u in body["value"]})


def test_immutable_id_and_provisioning_errors_only_with_select(lab):
    plain = lab.graph("GET", "/users/" + CAROL).json()
    assert "onPremisesImmutableId" not in plain and "onPremisesProvisioningErrors" not in plain
    listed = lab.graph("GET", "/users", params={"$filter": "id eq '%s'" % CAROL}).json()["value"][0]
    assert "onPremisesImmutableId" not in listed and "onPremisesProvisioningErrors" not in listed
    selected = lab.graph("GET", "/users/" + CAROL,
                         params={"$select": "id,onPremisesImmutableId,onPremisesProvisioningErrors"}).json()
    assert selected["onPremisesImmutableId"] == "Y2Fyb2w="
    assert selected["onPremisesProvisioningErrors"][0]["propertyCausingError"] == "ProxyAddress"


def test_unknown_user_is_404_naming_it(lab):
    answer = lab.graph("GET", "/users/nobody@contoso.com")
    assert answer.status_code == 404
    error = graph_error(answer)
    assert error["code"] == "Request_ResourceNotFound"
    assert "nobody@contoso.com" in error["message"]


def test_get_by_upn_ignores_case(lab):
    assert lab.user("ALICE@Contoso.COM")["id"] == ALICE


def test_deleted_user_is_not_found_under_users(lab):
    assert lab.graph("GET", "/users/gone@contoso.com").status_code == 404


def test_unknown_segment_is_400_naming_it(lab):
    answer = lab.graph("GET", "/users/%s/shoeCupboard" % ALICE)
    assert answer.status_code == 400
    error = graph_error(answer)
    assert error["code"] == "BadRequest"
    assert "shoeCupboard" in error["message"]
    answer = lab.graph("GET", "/gizmos")
    assert answer.status_code == 400 and "gizmos" in graph_error(answer)["message"]


def test_a_property_absent_from_this_graph_is_refused_in_select(lab):
    # A Graph deployment whose v1.0 schema lacks a property refuses the whole $select naming it.
    select = {"$select": "id,onPremisesObjectIdentifier"}
    assert lab.graph("GET", "/users/" + ALICE, params=select).status_code == 200
    assert lab.lab("PATCH", "/config", json={"absent_user_properties": ["onPremisesObjectIdentifier"]}).status_code == 200
    for path in ("/users/" + ALICE, "/users", "/directory/deletedItems/microsoft.graph.user"):
        answer = lab.graph("GET", path, params=select)
        assert answer.status_code == 400, path
        assert "Could not find a property named 'onPremisesObjectIdentifier'" in graph_error(answer)["message"]
    assert lab.graph("GET", "/users", params={"$select": "id,mail"}).status_code == 200
    refused = lab.lab("PATCH", "/config", json={"absent_user_properties": "onPremisesObjectIdentifier"})
    assert refused.status_code == 400 and "list of property names" in refused.text


def test_a_tenant_without_p2_refuses_the_pim_eligibility_api(lab):
    path, query = "/roleManagement/directory/roleEligibilityScheduleInstances", {"$filter": "principalId eq '%s'" % BOB}
    assert lab.graph("GET", path, params=query).status_code == 200
    assert lab.lab("PATCH", "/config", json={"entra_id_p2": False}).status_code == 200
    answer = lab.graph("GET", path, params=query)
    assert answer.status_code == 400 and graph_error(answer)["code"] == "AadPremiumLicenseRequired"
    assert lab.graph("GET", "/roleManagement/directory/roleAssignments", params=query).status_code == 200


def test_a_role_assigned_to_a_role_assignable_group_is_the_groups_and_its_members_see_it(lab):
    # "Use Microsoft Entra groups to manage role assignments": only a group created with
    # isAssignableToRole can hold a role; its members hold the role through it.
    tenant = lab.lab("GET", "/state").json()
    tenant["groups"] = [{"displayName": "Helpdesk admins", "isAssignableToRole": True, "members": [BOB],
                         "roles": [{"name": "Global Administrator"}]}]
    assert lab.lab("POST", "/reset", json=tenant).status_code == 200
    (group,) = lab.lab("GET", "/state").json()["groups"]
    assigned = lab.graph("GET", "/roleManagement/directory/roleAssignments",
                         params={"$filter": "principalId eq '%s'" % group["id"]}).json()["value"]
    assert [a["roleDefinitionId"] for a in assigned] == ["62e90394-69f5-4237-9190-012177145e10"]
    direct = lab.graph("GET", "/roleManagement/directory/roleAssignments",
                       params={"$filter": "principalId eq '%s'" % BOB}).json()["value"]
    assert direct == [], "the member's own assignments do not list the group's"
    member_of = lab.graph("GET", "/users/%s/memberOf" % BOB, params={"$select": "id,isAssignableToRole"}).json()
    assert member_of["value"] == [{"id": group["id"], "isAssignableToRole": True}]
    tenant["groups"][0]["isAssignableToRole"] = False
    refused = lab.lab("POST", "/reset", json=tenant)
    assert refused.status_code == 400 and "isAssignableToRole" in refused.text


def test_role_definitions_list_names_every_built_in_role_by_template_id(lab):
    # "List unifiedRoleDefinitions" (Microsoft Graph v1.0): built-in roles have id == templateId.
    listed = lab.graph("GET", "/roleManagement/directory/roleDefinitions", params={"$select": "id,displayName"})
    assert listed.status_code == 200, listed.text
    names = {d["id"]: d["displayName"] for d in listed.json()["value"]}
    assert names["62e90394-69f5-4237-9190-012177145e10"] == "Global Administrator"
    assert names["fe930be7-5e62-47db-91af-98c3a49a38b1"] == "User Administrator"
    assert all(set(d) == {"id", "displayName"} for d in listed.json()["value"])
    one = lab.graph("GET", "/roleManagement/directory/roleDefinitions",
                    params={"$filter": "displayName eq 'Global Administrator'"}).json()["value"]
    assert [d["templateId"] for d in one] == ["62e90394-69f5-4237-9190-012177145e10"] and one[0]["isBuiltIn"] is True


def _chain(addresses):
    return " or ".join("proxyAddresses/any(p:p eq 'smtp:%s')" % a for a in addresses)


def test_members_of_a_group_are_its_direct_members_with_their_type(lab):
    tenant = lab.lab("GET", "/state").json()
    tenant["groups"].append({"displayName": "Helpdesk admins", "isAssignableToRole": True,
                             "members": [BOB, GONE], "roles": [{"name": "Helpdesk Administrator"}]})
    assert lab.lab("POST", "/reset", json=tenant).status_code == 200
    admins = [g for g in lab.lab("GET", "/state").json()["groups"] if g.get("isAssignableToRole")][0]
    answer = lab.graph("GET", "/groups/%s/members" % admins["id"], params={"$select": "id"})
    assert answer.status_code == 200, answer.text
    # the soft-deleted member is no member
    assert answer.json()["value"] == [{"id": BOB, "@odata.type": "#microsoft.graph.user"}]
    full = lab.graph("GET", "/groups/%s/members" % SALES).json()["value"]
    assert [(m["userPrincipalName"], m["@odata.type"]) for m in full] == [("alice@contoso.com", "#microsoft.graph.user")]


@pytest.mark.parametrize("key", [ALICE, "cccccccc-0000-4000-8000-0000000000ff"], ids=["a user", "nothing"])
def test_members_of_what_is_no_group_is_404(lab, key):
    answer = lab.graph("GET", "/groups/%s/members" % key, params={"$select": "id"})
    assert answer.status_code == 404 and graph_error(answer)["code"] == "Request_ResourceNotFound"


def test_members_need_a_group_permission_not_user_read_all(lab):
    answer = lab.graph("GET", "/groups/%s/members" % SALES, client_id=READER)
    assert answer.status_code == 403 and graph_error(answer)["code"] == "Authorization_RequestDenied"
    assert lab.graph("GET", "/users/%s/memberOf" % ALICE, client_id=READER).status_code == 200


def test_members_page_like_any_collection(lab):
    tenant = lab.lab("GET", "/state").json()
    tenant["users"] += [{"userPrincipalName": "m%03d@contoso.com" % n, "displayName": "m%03d" % n} for n in range(5)]
    tenant["groups"][0]["members"] = ["m%03d@contoso.com" % n for n in range(5)]
    assert lab.lab("POST", "/reset", json=tenant).status_code == 200
    first = lab.graph("GET", "/groups/%s/members" % SALES, params={"$select": "id", "$top": "3"}).json()
    rest = lab.graph("GET", first["@odata.nextLink"]).json()
    assert len(first["value"]) == 3 and len(rest["value"]) == 2 and "@odata.nextLink" not in rest


def test_or_chained_any_filters_find_each_holder_ignoring_case(lab):
    for path, expected in (("/users", {"alice@contoso.com"}), ("/groups", {"Sales"}), ("/contacts", {"Partner"})):
        expression = _chain(["ALICE@contoso.onmicrosoft.com", "nobody@contoso.com", "Partner@Contoso.com",
                             "sales@contoso.com"])
        answer = lab.graph("GET", path, params={"$filter": expression, "$select": "id,displayName,userPrincipalName"
                                                if path == "/users" else "id,displayName"})
        assert answer.status_code == 200, answer.text
        assert set(o.get("userPrincipalName") or o["displayName"] for o in answer.json()["value"]) == expected


def test_a_filter_clause_takes_fifteen_expressions_by_default(lab):
    addresses = ["user%02d@contoso.com" % n for n in range(15)] + ["alice@contoso.onmicrosoft.com"]
    assert lab.graph("GET", "/users", params={"$filter": _chain(addresses[-15:])}).status_code == 200
    for expression in (_chain(addresses), "userPrincipalName in (%s)" % ",".join("'%s'" % a for a in addresses),
                       " or ".join("mail eq '%s'" % a for a in addresses)):
        answer = lab.graph("GET", "/users", params={"$filter": expression})
        assert answer.status_code == 400, expression
        assert graph_error(answer)["code"] == "Request_UnsupportedQuery"
        assert "16" in graph_error(answer)["message"]
    # "or a URL length of 2,048 characters when using advanced query capabilities"
    advanced = lab.graph("GET", "/users", headers=EVENTUAL, params={"$filter": _chain(addresses), "$count": "true"})
    assert advanced.status_code == 200 and [u["userPrincipalName"] for u in advanced.json()["value"]] == [
        "alice@contoso.com"]


def test_the_limit_holds_inside_a_batch_item(lab):
    addresses = ["user%02d@contoso.com" % n for n in range(16)]
    answer = lab.graph("POST", "/$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": "/groups?$filter=%s" % _chain(addresses[:15])},
        {"id": "2", "method": "GET", "url": "/groups?$filter=%s" % _chain(addresses)}]})
    statuses = dict((r["id"], r["status"]) for r in answer.json()["responses"])
    assert statuses == {"1": 200, "2": 400}


@pytest.mark.parametrize("text, keys", [
    ("id in ('A', 'b')", {"id": {"a", "b"}}),
    ("proxyAddresses/any(p:p eq 'SMTP:x@c.com') or proxyAddresses/any(p:p eq 'smtp:y@c.com')",
     {"proxyAddresses": {"smtp:x@c.com", "smtp:y@c.com"}}),
    ("userPrincipalName eq 'a@c.com' and accountEnabled eq true", {"userPrincipalName": {"a@c.com"}}),
    ("userPrincipalName eq 'a@c.com' or startswith(displayName, 'A')", None),
    ("onPremisesImmutableId eq null", None),
])
def test_a_filter_names_the_values_its_matches_must_hold(text, keys):
    """What the emulator narrows a large tenant by before it makes the users' views."""
    from lab.graph_emulator import odata_filter
    assert odata_filter.parse(text).candidate_keys() == keys

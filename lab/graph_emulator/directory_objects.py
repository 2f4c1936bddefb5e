"""Groups, contacts (orgContact), domains, directory role assignments and eligibilities, and
the tenant's on-premises synchronization features.

- "List groups" / "List orgContacts": read-only here; both carry ``proxyAddresses`` that take
  part in the tenant-wide SMTP uniqueness.
- "List group members" (``GET /groups/{id}/members``, Microsoft Graph v1.0): the group's direct
  members, "not transitive", each a directoryObject with its ``@odata.type``; the lab's groups
  hold users only, and a soft-deleted user is no member.  An id that is no group (a user's, a
  service principal's) answers 404 Request_ResourceNotFound, as any unknown group does.
- "List domains": ``authenticationType`` Managed or Federated.
- "List unifiedRoleAssignments" and "List roleEligibilityScheduleInstances", filtered by
  ``principalId``; ``$expand=roleDefinition`` on assignments. Eligibilities are PIM, which
  needs P2: without it (setting ``entra_id_p2``) they answer 400 ``AadPremiumLicenseRequired``.
- "List roleDefinitions" (``GET /roleManagement/directory/roleDefinitions``, Microsoft Graph
  v1.0 "List unifiedRoleDefinitions" and "unifiedRoleDefinition resource type"): the built-in
  roles of the catalog, ``id`` equal to the template id; ``$filter`` (eq, in) on id,
  displayName and isBuiltIn, ``$select``.
- "Get onPremisesDirectorySynchronization" / "Update ...": the ``features`` object.
"""

from __future__ import annotations

import uuid

from . import catalog, query
from .errors import bad_request, not_found
from .routing import Response, route
from .tenant import DEFAULT_FEATURES

GROUP_KNOWN = catalog.GROUP_DEFAULT_SELECT + ("onPremisesProvisioningErrors", "deletedDateTime")
CONTACT_KNOWN = catalog.CONTACT_DEFAULT_SELECT + ("onPremisesProvisioningErrors",)


def _view(obj, known):
    return {name: obj.get(name, [] if name in ("proxyAddresses", "groupTypes", "onPremisesProvisioningErrors") else None)
            for name in known}


def _one(svc, req, kind, key, known, default, context):
    for obj in svc.tenant.state[kind]:
        if obj["id"].lower() == key.lower():
            options = query.no_options(req)
            fields = query.selection(options, known, default, context[:-1])
            body = {"@odata.context": "%s/v1.0/$metadata#%s/$entity" % (req.base, context)}
            body.update(query.project(_view(obj, known), fields))
            return Response(200, body)
    raise not_found(key)


@route("GET", r"/groups", catalog.GROUP_READ)
def list_groups(svc, req):
    items = [_view(g, GROUP_KNOWN) for g in svc.tenant.state["groups"]]
    return Response(200, query.listing(req, items, context="groups", known=GROUP_KNOWN,
                                       default=catalog.GROUP_DEFAULT_SELECT, type_name="group",
                                       filters=query.MAIL_OBJECT_FILTERS, orderable=("displayName",)))


@route("GET", r"/groups/(?P<key>[^/]+)", catalog.GROUP_READ)
def get_group(svc, req, key):
    return _one(svc, req, "groups", key, GROUP_KNOWN, catalog.GROUP_DEFAULT_SELECT, "groups")


MEMBER_KNOWN = ("id", "displayName", "userPrincipalName", "mail")


@route("GET", r"/groups/(?P<key>[^/]+)/members", catalog.GROUP_MEMBER_READ)
def group_members(svc, req, key):
    groups = [g for g in svc.tenant.state["groups"] if g["id"].lower() == key.lower()]
    if not groups:
        raise not_found(key)
    active = dict((u["id"], u) for u in svc.tenant.active_users())
    items = [dict((name, active[m].get(name)) for name in MEMBER_KNOWN) for m in groups[0].get("members") or []
             if m in active]
    body = query.listing(req, items, context="directoryObjects", known=MEMBER_KNOWN, default=MEMBER_KNOWN,
                         type_name="directoryObject", filters={},
                         decorate=lambda item: {"@odata.type": "#microsoft.graph.user"})
    return Response(200, body)


@route("GET", r"/contacts", catalog.CONTACT_READ)
def list_contacts(svc, req):
    items = [_view(c, CONTACT_KNOWN) for c in svc.tenant.state["contacts"]]
    return Response(200, query.listing(req, items, context="contacts", known=CONTACT_KNOWN,
                                       default=catalog.CONTACT_DEFAULT_SELECT, type_name="orgContact",
                                       filters=query.MAIL_OBJECT_FILTERS, orderable=("displayName",)))


@route("GET", r"/contacts/(?P<key>[^/]+)", catalog.CONTACT_READ)
def get_contact(svc, req, key):
    return _one(svc, req, "contacts", key, CONTACT_KNOWN, catalog.CONTACT_DEFAULT_SELECT, "contacts")


DOMAIN_KNOWN = ("id", "authenticationType", "availabilityStatus", "isAdminManaged", "isDefault", "isInitial",
                "isRoot", "isVerified", "passwordNotificationWindowInDays", "passwordValidityPeriodInDays",
                "supportedServices", "state")


def _domain_view(domain):
    return {"id": domain["id"], "authenticationType": domain.get("authenticationType", "Managed"),
            "availabilityStatus": None, "isAdminManaged": True, "isDefault": bool(domain.get("isDefault")),
            "isInitial": bool(domain.get("isInitial")), "isRoot": True, "isVerified": domain.get("isVerified", True),
            "passwordNotificationWindowInDays": 14, "passwordValidityPeriodInDays": 2147483647,
            "supportedServices": ["Email", "OfficeCommunicationsOnline"], "state": None}


@route("GET", r"/domains", catalog.DOMAIN_READ)
def list_domains(svc, req):
    items = [_domain_view(d) for d in svc.tenant.domains]
    return Response(200, query.listing(req, items, context="domains", known=DOMAIN_KNOWN, default=DOMAIN_KNOWN,
                                       type_name="domain", filters={}))


@route("GET", r"/domains/(?P<key>[^/]+)", catalog.DOMAIN_READ)
def get_domain(svc, req, key):
    domain = svc.tenant.domain(key)
    if not domain:
        raise not_found(key)
    options = query.no_options(req)
    body = {"@odata.context": "%s/v1.0/$metadata#domains/$entity" % req.base}
    body.update(query.project(_domain_view(domain), query.selection(options, DOMAIN_KNOWN, DOMAIN_KNOWN, "domain")))
    return Response(200, body)


def _role_items(svc, assignment):
    """Assignments (or eligibilities) of users and of role-assignable groups, each to its own
    principal: a member's role through a group is read from the group's, as in Graph."""
    items = []
    for user in svc.tenant.active_users() + [g for g in svc.tenant.state["groups"] if g.get("roles")]:
        for role in user.get("roles") or []:
            if role.get("assignment", "active") != assignment:
                continue
            template = catalog.ROLE_TEMPLATES[role["name"]]
            item = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "%s/%s/%s" % (assignment, template, user["id"]))),
                    "principalId": user["id"], "roleDefinitionId": template, "directoryScopeId": "/",
                    "appScopeId": None}
            if assignment == "eligible":
                item.update({"startDateTime": user.get("createdDateTime"), "endDateTime": None, "memberType": "Direct",
                             "roleEligibilityScheduleId": item["id"]})
            else:
                item["_role"] = role["name"]
            items.append(item)
    return items


def _role_definition(name):
    template = catalog.ROLE_TEMPLATES[name]
    return {"id": template, "templateId": template, "displayName": name, "isBuiltIn": True, "isEnabled": True,
            "description": None}


@route("GET", r"/roleManagement/directory/roleAssignments", catalog.ROLE_READ)
def role_assignments(svc, req):
    items = _role_items(svc, "active")
    expand = req.query.get("$expand")
    if expand not in (None, "roleDefinition"):
        raise bad_request("Could not find a property named '%s' on type 'microsoft.graph.unifiedRoleAssignment'." % expand)
    items_by_id = {i["id"]: i for i in items}
    stripped = dict(req.query)
    stripped.pop("$expand", None)
    inner = type(req)(req.method, req.path, [(k, v) for k, v in req.query_items if k != "$expand"], req.headers,
                      req.body, req.base, req.claims, req.in_batch)
    known = ("id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId")
    body = query.listing(inner, [{k: v for k, v in i.items() if k != "_role"} for i in items],
                         context="roleManagement/directory/roleAssignments", known=known, default=known,
                         type_name="unifiedRoleAssignment", filters=query.ROLE_FILTERS)
    if expand:
        for item in body["value"]:
            item["roleDefinition"] = _role_definition(items_by_id[item["id"]]["_role"])
    return Response(200, body)


ROLE_DEFINITION_KNOWN = ("id", "templateId", "displayName", "description", "isBuiltIn", "isEnabled",
                         "resourceScopes", "version", "rolePermissions")
ROLE_DEFINITION_FILTERS = {
    "id": ({"eq", "in"}, set()),
    "displayName": ({"eq", "in"}, set()),
    "isBuiltIn": ({"eq", "in"}, set()),
}


@route("GET", r"/roleManagement/directory/roleDefinitions", catalog.ROLE_DEFINITION_READ)
def role_definitions(svc, req):
    # "List unifiedRoleDefinitions": built-in roles answer with id == templateId.
    items = [dict(_role_definition(name), resourceScopes=["/"], version="1", rolePermissions=[])
             for name in sorted(catalog.ROLE_TEMPLATES)]
    body = query.listing(req, items, context="roleManagement/directory/roleDefinitions",
                         known=ROLE_DEFINITION_KNOWN, default=ROLE_DEFINITION_KNOWN,
                         type_name="unifiedRoleDefinition", filters=ROLE_DEFINITION_FILTERS)
    return Response(200, body)


@route("GET", r"/roleManagement/directory/roleEligibilityScheduleInstances", catalog.ELIGIBILITY_READ)
def role_eligibilities(svc, req):
    if not svc.settings.entra_id_p2:
        # Seen from Graph on tenants without P2 (reported in maester365/maester#1421, 2026-01).
        raise bad_request("The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.",
                          code="AadPremiumLicenseRequired")
    known = ("id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId", "startDateTime",
             "endDateTime", "memberType", "roleEligibilityScheduleId")
    body = query.listing(req, _role_items(svc, "eligible"),
                         context="roleManagement/directory/roleEligibilityScheduleInstances", known=known,
                         default=known, type_name="unifiedRoleEligibilityScheduleInstance", filters=query.ROLE_FILTERS)
    return Response(200, body)


def _sync_object(svc):
    features = dict(DEFAULT_FEATURES)
    features.update(svc.tenant.features)
    return {"id": svc.tenant.tenant_id, "features": features,
            "configuration": {"accidentalDeletionPrevention": {"synchronizationPreventionType": "enabledForCount",
                                                               "alertThreshold": 500},
                              "synchronizationInterval": "PT30M", "customerRequestedSynchronizationInterval": None}}


@route("GET", r"/directory/onPremisesSynchronization", catalog.SYNC_FEATURES_READ)
def list_sync(svc, req):
    query.no_options(req, ())
    return Response(200, {"@odata.context": "%s/v1.0/$metadata#directory/onPremisesSynchronization" % req.base,
                          "value": [_sync_object(svc)]})


@route("GET", r"/directory/onPremisesSynchronization/(?P<key>[^/]+)", catalog.SYNC_FEATURES_READ)
def get_sync(svc, req, key):
    if key.lower() != svc.tenant.tenant_id.lower():
        raise not_found(key)
    body = {"@odata.context": "%s/v1.0/$metadata#directory/onPremisesSynchronization/$entity" % req.base}
    body.update(_sync_object(svc))
    return Response(200, body)


@route("PATCH", r"/directory/onPremisesSynchronization/(?P<key>[^/]+)", catalog.SYNC_FEATURES_WRITE)
def update_sync(svc, req, key):
    if key.lower() != svc.tenant.tenant_id.lower():
        raise not_found(key)
    body = {k: v for k, v in (req.body or {}).items() if not k.startswith("@odata.")}
    features = body.pop("features", None) or {}
    if body.keys() - {"configuration"}:
        raise bad_request("Property '%s' does not exist as a declared property or extension property."
                          % sorted(body.keys() - {"configuration"})[0])
    for name, value in features.items():
        if name.startswith("@odata."):
            continue
        if name not in DEFAULT_FEATURES:
            raise bad_request("Property '%s' does not exist as a declared property or extension property." % name)
        if not isinstance(value, bool):
            raise bad_request("Invalid value specified for property '%s'." % name)
        svc.tenant.features[name] = value
    return Response(204)

"""Collection queries: ``$filter``, ``$select``, ``$top``, ``$count``, ``$orderby``, paging by
``@odata.nextLink`` with ``$skiptoken``, and the default/advanced query split of
"Advanced query capabilities on Microsoft Entra ID objects": an advanced clause needs the
``ConsistencyLevel: eventual`` header *and* ``$count=true``, else 400 Request_UnsupportedQuery.

A default query's filter clause holds at most 15 equality expressions (Microsoft Graph known
issues, "Some limitations apply to query parameters": "When using the "in" operator, the request
is limited to 15 expressions in the filter clause by default OR a URL length of 2,048 characters
when using advanced query capabilities"; "Use the $filter query parameter" points there for the
limits of ``in`` and ``eq``).  Counted: each value of an ``in`` list and each ``eq``, those of
``or``-joined ``any(p:p eq ...)`` lambdas included; more is a 400 Request_UnsupportedQuery (the
page documents the limit, not the answer: its code and wording are the lab's).  The 2,048
characters of an advanced query's URL are not checked.
"""

from __future__ import annotations

import base64
import json
import urllib.parse

from . import odata_filter
from .errors import GraphError, bad_request, unsupported_query

KNOWN_OPTIONS = {"$filter", "$select", "$top", "$count", "$skiptoken", "$orderby", "$expand", "$search", "$skip",
                 "$format"}

_STRING = {"eq", "in", "startswith"}
_STRING_ADV = {"ne", "not", "endswith", "eq null", "ne null"}

# property → (default operators, advanced-only operators). Anything else is refused outright.
USER_FILTERS = {
    "id": ({"eq", "in"}, {"ne", "not"}),
    "userPrincipalName": (_STRING, _STRING_ADV),
    "mail": (_STRING, _STRING_ADV),
    "proxyAddresses": ({"eq", "startswith"}, {"endswith", "not", "ne"}),
    "otherMails": ({"eq", "startswith"}, {"endswith", "not", "ne"}),
    "displayName": (_STRING, _STRING_ADV),
    "givenName": (_STRING, _STRING_ADV),
    "surname": (_STRING, _STRING_ADV),
    "mailNickname": (_STRING, _STRING_ADV),
    "jobTitle": (_STRING, _STRING_ADV),
    "department": (set(), _STRING | _STRING_ADV),
    "employeeId": (_STRING, _STRING_ADV),
    "userType": ({"eq", "in"}, {"ne", "not", "eq null"}),
    "accountEnabled": ({"eq"}, {"ne", "not", "eq null"}),
    "usageLocation": ({"eq"}, {"ne", "not", "eq null"}),
    "onPremisesImmutableId": (set(), _STRING | _STRING_ADV),
    "onPremisesSyncEnabled": (set(), {"eq", "ne", "not", "eq null", "ne null"}),
    "onPremisesSamAccountName": (set(), _STRING | _STRING_ADV),
    "onPremisesUserPrincipalName": (set(), _STRING | _STRING_ADV),
    "onPremisesObjectIdentifier": (set(), {"eq", "in", "eq null", "ne null"}),
    "createdDateTime": (set(), {"ge", "le", "gt", "lt", "eq", "eq null"}),
    "deletedDateTime": (set(), {"ge", "le", "gt", "lt", "eq"}),
}
MAIL_OBJECT_FILTERS = {
    "id": ({"eq", "in"}, {"ne", "not"}),
    "displayName": (_STRING, _STRING_ADV),
    "mail": (_STRING, _STRING_ADV),
    "mailNickname": (_STRING, _STRING_ADV),
    "proxyAddresses": ({"eq", "startswith"}, {"endswith", "not", "ne"}),
    "mailEnabled": ({"eq"}, {"ne", "not"}),
    "securityEnabled": ({"eq"}, {"ne", "not"}),
    "onPremisesSyncEnabled": (set(), {"eq", "ne", "not", "eq null", "ne null"}),
}
MAX_FILTER_EXPRESSIONS = 15

ROLE_FILTERS = {
    "principalId": ({"eq", "in"}, set()),
    "roleDefinitionId": ({"eq", "in"}, set()),
    "directoryScopeId": ({"eq"}, set()),
    "appScopeId": ({"eq"}, set()),
}


def single(req) -> dict:
    """The query options of a request, refusing unknown ``$`` options and ``$filter`` on one object."""
    return {k: v for k, v in req.query.items() if k.startswith("$")}


def check_options(options: dict, allowed: set[str]) -> None:
    for name in options:
        if name not in KNOWN_OPTIONS:
            raise bad_request("Query option '%s' is not allowed. Make sure that the query option is spelled "
                              "correctly and is one of the supported OData system query options." % name)
        if name not in allowed:
            raise bad_request("The query specified in the URI is not valid. Query option '%s' is not supported "
                              "by this resource." % name)


def selection(options: dict, known, default, type_name: str) -> list[str]:
    if "$select" not in options:
        return list(default)
    chosen = []
    for name in options["$select"].split(","):
        name = name.strip()
        if not name:
            continue
        if name == "*":
            return list(known)
        if name not in known:
            raise bad_request("Could not find a property named '%s' on type 'microsoft.graph.%s'." % (name, type_name))
        if name not in chosen:
            chosen.append(name)
    return chosen or list(default)


def project(obj: dict, fields, extra: dict | None = None) -> dict:
    view = {}
    for name in fields:
        view[name] = obj.get(name)
    if extra:
        view.update(extra)
    return view


def _advanced(req, options) -> bool:
    return (req.headers.get("consistencylevel") or "").lower() == "eventual" and \
        (options.get("$count") or "").lower() == "true"


# Properties whose stored value is the value Graph shows (no default filled in by a view), so a
# stored object can be passed over on them before its view is made.
NARROWING_PROPERTIES = {"id", "userPrincipalName", "mail", "onPremisesImmutableId", "proxyAddresses"}


def _holds_any(obj: dict, keys: dict) -> bool:
    """Whether ``obj`` holds one of ``keys`` (``{property: {folded values}}``) in that property."""
    for prop, values in keys.items():
        held = obj.get(prop)
        for value in held if isinstance(held, list) else [held]:
            if (value.lower() if isinstance(value, str) else value) in values:
                return True
    return False


def listing(req, items: list[dict], *, context: str, known, default, type_name: str,
            filters: dict, orderable=("displayName", "userPrincipalName"), page_size: int = 100,
            decorate=None, view=None) -> dict:
    """Answer a collection GET. ``items`` are full views (every known property), or stored
    objects that ``view`` turns into full views.  A filter that names the values it can match
    (``id in (...)``, ``proxyAddresses/any(p:p eq ...)`` or-chains) first narrows the stored
    objects to those holding one, so a lookup in a large tenant costs what Entra's indexes
    make it cost, not a view of every user: the lab's speed, not a Graph rule."""
    options = single(req)
    check_options(options, {"$filter", "$select", "$top", "$count", "$skiptoken", "$orderby", "$search"})
    resource = type_name[0].upper() + type_name[1:]
    eventual = (req.headers.get("consistencylevel") or "").lower() == "eventual"
    count = (options.get("$count") or "false").lower()
    if count not in ("true", "false"):
        raise bad_request("Invalid value for $count: '%s'." % options["$count"])
    if count == "true" and not eventual:
        # $count on directory objects is an advanced query: it needs ConsistencyLevel: eventual.
        raise bad_request("$count is not currently supported.")
    if "$search" in options:
        raise unsupported_query("$search is not implemented by the lab emulator.")
    top = page_size
    if "$top" in options:
        raw = options["$top"]
        if not raw.isdigit() or not 1 <= int(raw) <= 999:
            raise bad_request("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive." % raw)
        top = int(raw)
    fields = selection(options, known, default, type_name)

    parsed = None
    if "$filter" in options:
        parsed = odata_filter.parse(options["$filter"])
        if parsed.equalities > MAX_FILTER_EXPRESSIONS and not _advanced(req, options):
            raise unsupported_query(
                "Too many expressions in the filter clause: %d; a query without ConsistencyLevel: eventual and "
                "$count=true takes at most %d." % (parsed.equalities, MAX_FILTER_EXPRESSIONS))
        for prop, op in parsed.clauses:
            if prop == "*":
                if not _advanced(req, options):
                    raise unsupported_query("Unsupported query: 'not' needs ConsistencyLevel: eventual and $count=true.")
                continue
            if prop not in known:
                raise bad_request("Could not find a property named '%s' on type 'microsoft.graph.%s'." % (prop, type_name))
            default_ops, advanced_ops = filters.get(prop, (set(), set()))
            if op in default_ops:
                continue
            if op in advanced_ops:
                if not _advanced(req, options):
                    raise unsupported_query(
                        "Unsupported or invalid query filter clause specified for property '%s' of resource '%s'."
                        % (prop, resource))
                continue
            raise unsupported_query(
                "Unsupported or invalid query filter clause specified for property '%s' of resource '%s'." % (prop, resource))
        keys = parsed.candidate_keys()
        if keys is not None and set(keys) <= NARROWING_PROPERTIES:
            items = [obj for obj in items if _holds_any(obj, keys)]
    if view is not None:
        items = [view(obj) for obj in items]
    matched = items if parsed is None else [obj for obj in items if parsed.matches(obj)]

    if "$orderby" in options:
        prop, _, direction = options["$orderby"].strip().partition(" ")
        if prop not in orderable:
            raise unsupported_query("Sorting not supported for '%s'." % prop)
        if "$filter" in options and not _advanced(req, options):
            raise unsupported_query("Sorting and filtering in one query needs ConsistencyLevel: eventual and $count=true.")
        matched = sorted(matched, key=lambda o: (o.get(prop) or "").lower(), reverse=direction.strip().lower() == "desc")

    offset = 0
    if "$skiptoken" in options:
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(options["$skiptoken"] + "==").decode())["o"])
        except (ValueError, KeyError, TypeError):
            raise bad_request("Invalid skip token.") from None
    page = matched[offset:offset + top]
    body = {"@odata.context": "%s/v1.0/$metadata#%s" % (req.base, context)}
    if count == "true":
        body["@odata.count"] = len(matched)
    body["value"] = [project(obj, fields, decorate(obj) if decorate else None) for obj in page]
    if offset + top < len(matched):
        token = base64.urlsafe_b64encode(json.dumps({"o": offset + top}).encode()).decode().rstrip("=")
        params = [(k, v) for k, v in req.query_items if k != "$skiptoken"] + [("$skiptoken", token)]
        body["@odata.nextLink"] = "%s/v1.0%s?%s" % (req.base, req.path, urllib.parse.urlencode(
            params, safe="$,()':/@", quote_via=urllib.parse.quote))
    return body


def count_only(req, items: list[dict]) -> str:
    if (req.headers.get("consistencylevel") or "").lower() != "eventual":
        raise bad_request("$count is not currently supported.")
    return str(len(items))


def no_options(req, allowed=("$select",)) -> dict:
    options = single(req)
    check_options(options, set(allowed))
    return options


__all__ = ["GraphError", "listing", "count_only", "no_options", "selection", "project"]

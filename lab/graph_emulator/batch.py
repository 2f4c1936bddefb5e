"""``POST /$batch`` ("Combine multiple HTTP requests using JSON batching").

At most 20 requests; each has a unique ``id``, a ``method``, and a ``url`` relative to the
version (``/users/x`` or ``users/x``; msgraph-sdk sends absolute URLs, accepted too), optional
``headers`` and ``body`` (a JSON object, or base64 text), and ``dependsOn`` (msgraph-sdk writes
``depends_on``). A request whose dependency failed answers 424. Each item is authorised,
throttled and counted on its own, so one batch can hold both successes and 429s; the batch
itself answers 200 with ``responses: [{id, status, headers, body}]``.
"""

from __future__ import annotations

import base64
import json
import urllib.parse

from .errors import GraphError, bad_request
from .routing import Request, Response

MAX_REQUESTS = 20


def _item_path(url: str) -> tuple[str, list]:
    parsed = urllib.parse.urlsplit(url)
    path = parsed.path
    if parsed.scheme:
        # An absolute URL: keep what follows the version segment.
        if not path.startswith("/v1.0"):
            raise bad_request("The url of a batch request must be relative to /v1.0.", code="BadRequest")
        path = path[len("/v1.0"):]
    if not path.startswith("/"):
        path = "/" + path
    while "//" in path:
        path = path.replace("//", "/")
    return path.rstrip("/") or "/", urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)


def _item_body(raw, headers):
    if raw is None or isinstance(raw, (dict, list)):
        return raw
    if isinstance(raw, str):
        try:
            return json.loads(base64.b64decode(raw, validate=True))
        except ValueError:
            return json.loads(raw)
    raise ValueError("body")


def run(svc, outer: Request) -> Response:
    payload = outer.body
    items = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise bad_request("Invalid batch payload format.", code="BadRequest")
    if len(items) > MAX_REQUESTS:
        raise bad_request("Too many requests in the batch: %d. The maximum is %d." % (len(items), MAX_REQUESTS),
                          code="BadRequest")
    seen = {}
    for item in items:
        if not isinstance(item, dict) or not item.get("id") or not item.get("method") or not item.get("url"):
            raise bad_request("Each batch request needs id, method and url.", code="BadRequest")
        if str(item["id"]) in seen:
            raise bad_request("Batch request ids must be unique: '%s' is repeated." % item["id"], code="BadRequest")
        seen[str(item["id"])] = item
    for item in items:
        for dependency in _depends_on(item):
            if dependency not in seen:
                raise bad_request("dependsOn names an unknown request id '%s'." % dependency, code="BadRequest")

    results: dict[str, dict] = {}
    order = _ordered(items, seen)
    for item in order:
        item_id = str(item["id"])
        failed = [d for d in _depends_on(item) if results[d]["status"] >= 400]
        if failed:
            error = GraphError(424, "FailedDependency", "Dependent request %s failed." % failed[0])
            results[item_id] = {"id": item_id, "status": 424, "headers": {"Content-Type": "application/json"},
                                "body": error.body()}
            continue
        results[item_id] = _run_one(svc, outer, item)
    return Response(200, {"responses": [results[str(i["id"])] for i in items]})


def _depends_on(item) -> list[str]:
    value = item.get("dependsOn", item.get("depends_on")) or []
    return [str(v) for v in value]


def _ordered(items, by_id):
    done, order = set(), []

    def visit(item, trail):
        item_id = str(item["id"])
        if item_id in done:
            return
        if item_id in trail:
            raise bad_request("dependsOn forms a cycle.", code="BadRequest")
        for dependency in _depends_on(item):
            visit(by_id[dependency], trail | {item_id})
        done.add(item_id)
        order.append(item)

    for item in items:
        visit(item, frozenset())
    return order


def _run_one(svc, outer, item) -> dict:
    item_id = str(item["id"])
    headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    try:
        path, query_items = _item_path(str(item["url"]))
        if path == "/$batch":
            raise bad_request("A batch cannot contain a batch.", code="BadRequest")
        body = _item_body(item.get("body"), headers)
        if body is not None and "content-type" not in headers:
            raise bad_request("A request with a body needs a Content-Type header.", code="BadRequest")
        request = Request(str(item["method"]).upper(), path, query_items, headers, body, outer.base, outer.claims,
                          in_batch=True)
        response = svc.execute(request)
    except GraphError as error:
        response = Response(error.status, error.body(headers.get("client-request-id")), error.headers)
    except ValueError:
        error = bad_request("The body of batch request %s is neither JSON nor base64." % item_id, code="BadRequest")
        response = Response(400, error.body())
    answer = {"id": item_id, "status": response.status,
              "headers": dict(response.headers, **({"Content-Type": "application/json"}
                                                   if isinstance(response.body, (dict, list)) else {}))}
    if response.body is not None:
        answer["body"] = response.body
    return answer

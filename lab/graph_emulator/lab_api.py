"""``/_lab/``: the lab's own controls, outside Graph's URL space (never under /v1.0), no token.

    GET    /_lab/health                  {"ok": true, "tenant_id", "pid"}
    GET    /_lab/requests?since=N        request log entries after seq N
    DELETE /_lab/requests                clear the log
    GET    /_lab/state                   the tenant-state document
    PUT    /_lab/state                   replace the tenant with the posted document (400 names the bad field)
    POST   /_lab/reset                   back to the default tenant; also clears quotas, faults and the log
    GET    /_lab/config, PATCH /_lab/config      settings (see settings.py)
    GET    /_lab/faults, POST /_lab/faults (a rule or a list), DELETE /_lab/faults
    POST   /_lab/throttle/reset          forget quota usage
    GET    /_lab/ad, PUT /_lab/ad         the AD the sync simulator reads (facts of the Samba DC)
    DELETE /_lab/ad                      forget it: no cycle reads AD until one is registered again
    POST   /_lab/sync                    run a cycle: {"profile": "Delta"|"Initial", "scope": [dn], "only": guid|dn}
    GET    /_lab/sync                    the last run result
    DELETE /_lab/sync                    forget the connector space (every AD user is new again)
"""

from __future__ import annotations

import json
import os

from .routing import Response
from .tenant import TenantStateError, default_state


def _json(body: bytes):
    if not body:
        return None
    return json.loads(body)


def handle(svc, method: str, path: str, query_items, body: bytes) -> Response:
    query = dict(query_items)
    try:
        payload = _json(body)
    except ValueError as error:
        return Response(400, {"error": "invalid JSON: %s" % error})
    try:
        if path == "/_lab/health" and method == "GET":
            return Response(200, {"ok": True, "tenant_id": svc.tenant.tenant_id, "pid": os.getpid()})
        if path == "/_lab/requests":
            if method == "GET":
                return Response(200, {"value": svc.log.since(int(query.get("since", 0)))})
            if method == "DELETE":
                svc.log.clear()
                return Response(204)
        if path == "/_lab/state":
            if method == "GET":
                return Response(200, svc.tenant.dump())
            if method in ("PUT", "POST"):
                svc.tenant.load(payload or {})
                return Response(200, svc.tenant.dump())
        if path == "/_lab/reset" and method == "POST":
            svc.tenant.load(payload if payload else default_state())
            svc.sync_engine.reset()  # joins to a tenant that is gone mean nothing
            svc.throttle.reset()
            svc.faults.clear()
            svc.log.clear()
            return Response(200, svc.tenant.dump())
        if path == "/_lab/config":
            if method == "GET":
                return Response(200, svc.settings.dump())
            if method in ("PATCH", "POST", "PUT"):
                return Response(200, svc.settings.update(payload or {}))
        if path == "/_lab/faults":
            if method == "GET":
                return Response(200, {"value": svc.faults.dump()})
            if method == "POST":
                rules = payload if isinstance(payload, list) else [payload or {}]
                return Response(200, {"value": [svc.faults.add(rule) for rule in rules]})
            if method == "DELETE":
                svc.faults.clear()
                return Response(204)
        if path == "/_lab/ad":
            if method == "GET":
                return Response(200, svc.sync_engine.register_ad(svc.sync_engine.ad) if svc.sync_engine.ad else {})
            if method in ("PUT", "POST"):
                return Response(200, svc.sync_engine.register_ad(payload or {}))
            if method == "DELETE":
                svc.sync_engine.forget_ad()
                return Response(204)
        if path == "/_lab/sync":
            if method == "POST":
                options = payload or {}
                unknown = set(options) - {"profile", "scope", "only"}
                if unknown:
                    raise ValueError("unknown sync options %s (known: profile, scope, only)" % sorted(unknown))
                if options.get("profile", "Delta") not in ("Delta", "Initial"):
                    raise ValueError("profile: Delta or Initial")
                try:
                    return Response(200, svc.sync_engine.run(options.get("scope"), options.get("only"),
                                                             options.get("profile", "Delta")))
                except LookupError as missing:
                    return Response(404, {"error": str(missing)})
                except OSError as unreachable:  # the DC is down or unreachable
                    return Response(502, {"error": "cannot read AD: %s" % unreachable})
            if method == "GET":
                return Response(200, svc.sync_engine.last_result or {})
            if method == "DELETE":
                svc.sync_engine.reset()
                return Response(204)
        if path == "/_lab/throttle/reset" and method == "POST":
            svc.throttle.reset()
            return Response(204)
    except (TenantStateError, ValueError, TypeError) as error:
        return Response(400, {"error": str(error)})
    return Response(404, {"error": "no lab endpoint %s %s" % (method, path)})

"""The emulator's core, independent of HTTP: one ``GraphService`` answers a request
(method, target, headers, body) with a ``Response``. The server (``server.py``) and ``$batch``
both go through it.

Order for a /v1.0 request: added latency → injected fault → bearer token (401) → route
(400 unknown segment, 405 wrong method) → application permission (403) → throttling (429) →
handler under the tenant lock → state saved shortly after a successful write.
"""

from __future__ import annotations

import json
import pathlib
import secrets
import time
import urllib.parse
import uuid

from . import batch, lab_api, routing
# The resource modules register their routes on import.
from . import deleted_items, directory_objects, synchronization, users  # noqa: F401
from .errors import GraphError, bad_request, denied, method_not_allowed, segment_not_found, too_many_requests
from .faults import Faults
from .request_log import RequestLog
from .routing import Request, Response
from .settings import Settings
from .sync_engine import SyncEngine
from .tenant import Tenant
from .throttling import RateLimit, Throttle, request_cost
from .tokens import OAuthError, TokenService

JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


def load_identity(graph_dir: pathlib.Path) -> dict:
    """Tenant id, the lab app's credentials and the token signing key: made once, then kept."""
    path = graph_dir / "identity.json"
    if path.exists():
        return json.loads(path.read_text())
    identity = {"tenant_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4()),
                "client_secret": "lab~" + secrets.token_urlsafe(30), "signing_key": secrets.token_hex(32)}
    graph_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(identity, indent=1))
    path.chmod(0o600)
    return identity


class GraphService:
    def __init__(self, graph_dir: pathlib.Path | None, identity: dict, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.identity = identity
        self.tenant = Tenant(identity["tenant_id"], graph_dir / "tenant.json" if graph_dir else None, self.now)
        self.tokens = TokenService(identity["tenant_id"], bytes.fromhex(identity["signing_key"]), self.now,
                                   lambda: self.settings.token_lifetime, self._verified_domains)
        self.throttle = Throttle(self.settings)
        self.on_demand_limit = RateLimit(self.settings, 5, 10.0)
        self.faults = Faults()
        self.sync_engine = SyncEngine(self.tenant, graph_dir)
        self.log = RequestLog()

    def now(self) -> float:
        return self.settings.now()

    def _verified_domains(self) -> list[str]:
        with self.tenant.lock:
            return [d["id"] for d in self.tenant.domains if d.get("isVerified", True)]

    def apps(self) -> dict:
        from .catalog import LAB_APP_PERMISSIONS
        apps = {self.identity["client_id"].lower(): {"clientSecret": self.identity["client_secret"],
                                                     "permissions": LAB_APP_PERMISSIONS}}
        with self.tenant.lock:
            for app in self.tenant.state.get("apps") or []:
                apps[app["clientId"].lower()] = app
        return apps

    # --- entry point ----------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict, body: bytes, base: str) -> Response:
        parsed = urllib.parse.urlsplit(target)
        path = parsed.path
        while "//" in path:
            path = path.replace("//", "/")  # msgraph-sdk may send '//' after /v1.0 (LAB-NOTES)
        query_items = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in headers.items()}
        if path == "/_lab" or path.startswith("/_lab/"):
            return lab_api.handle(self, method, path, query_items, body)
        if path == "/v1.0" or path.startswith("/v1.0/"):
            return self._graph(method, path[len("/v1.0"):].rstrip("/") or "/", query_items, headers, body, base)
        return self._token_service(method, path, headers, body, base)

    # --- token service ----------------------------------------------------------------------
    def _token_service(self, method, path, headers, body, base) -> Response:
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 3 and parts[-3:] == ["v2.0", ".well-known", "openid-configuration"] or \
                parts[-2:] == [".well-known", "openid-configuration"]:
            tenant = parts[0]
            if not self.tokens.known_tenant(tenant):
                return Response(400, OAuthError(400, "invalid_tenant", 90002, "Tenant '%s' not found." % tenant)
                                .body(_now_text()))
            return Response(200, self.tokens.discovery(base, tenant))
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"] and method == "POST":
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
            fault = self.faults.take(method, path, token=True)
            if fault:
                return self._fault_response(fault, None)
            try:
                answer = Response(200, self.tokens.issue(parts[0], form, self.apps(), headers.get("authorization")))
            except OAuthError as error:
                answer = Response(error.status, error.body(_now_text()))
            self.log.add(method, path, "", answer.status, {"client_id": form.get("client_id"),
                                                           "grant_type": form.get("grant_type"),
                                                           "scope": form.get("scope")})
            return answer
        if len(parts) == 4 and parts[1:] == ["discovery", "v2.0", "keys"]:
            return Response(200, {"keys": []})
        return Response(404, {"error": "not_found", "error_description": "No such endpoint: %s" % path})

    # --- Graph ----------------------------------------------------------------------------
    def _fault_response(self, fault, claims) -> Response:
        if fault["status"] == "drop":
            return Response(0, drop=True)
        if fault["status"] == 429:
            error = too_many_requests(fault["retry_after"], "Tenant_Application/ReadWrite/%s/%s" % (
                (claims or {}).get("appid", "-"), self.tenant.tenant_id), "InjectedFault")
        elif fault["status"] == 503:
            error = GraphError(503, "serviceNotAvailable", "Service unavailable.",
                               headers={"Retry-After": str(fault["retry_after"])})
        else:
            error = GraphError(504, "UnknownError", "The gateway timed out.")
        return Response(error.status, error.body(), error.headers)

    def _graph(self, method, path, query_items, headers, body, base) -> Response:
        started = time.monotonic()
        if self.settings.latency_ms:
            time.sleep(self.settings.latency_ms / 1000.0)
        parsed_body = None
        claims = None
        try:
            fault = self.faults.take(method, path)
            if fault and fault["status"] != "drop_after":
                response = self._fault_response(fault, None)
            else:
                claims = self.tokens.validate(headers.get("authorization"), base)
                if body:
                    try:
                        parsed_body = json.loads(body)
                    except ValueError:
                        raise bad_request("Unable to read JSON request payload. Please ensure Content-Type header "
                                          "is set and payload is of valid JSON format.", code="BadRequest") from None
                request = Request(method, path, query_items, headers, parsed_body, base, claims)
                if path == "/$batch":
                    if method != "POST":
                        raise method_not_allowed()
                    response = batch.run(self, request)
                else:
                    response = self.execute(request, log=False)
        except GraphError as error:
            response = Response(error.status, error.body(headers.get("client-request-id")), error.headers)
        self.log.add(method, path, urllib.parse.urlencode(query_items), response.status,
                     parsed_body if parsed_body is not None else (body.decode("utf-8", "replace") or None),
                     app=(claims or {}).get("appid"), resource_units=response.headers.get("x-ms-resource-unit"),
                     ms=round((time.monotonic() - started) * 1000, 1))
        response.headers.setdefault("request-id", str(uuid.uuid4()))
        response.headers.setdefault("client-request-id", headers.get("client-request-id") or str(uuid.uuid4()))
        if fault and fault["status"] == "drop_after":
            return Response(0, drop=True)  # carried out and logged; the answer is lost
        return response

    def execute(self, request: Request, log: bool = True) -> Response:
        """Run one Graph request (a top-level one or a $batch item) with authorisation and throttling."""
        try:
            if request.in_batch:
                fault = self.faults.take(request.method, request.path, in_batch=True)
                if fault:
                    return self._fault_response(fault, request.claims)
            found, groups = routing.match(request.method, request.path)
            if not found:
                raise method_not_allowed() if groups == "method" else segment_not_found(groups)
            roles = set(request.claims.get("roles") or [])
            if not roles & found.permissions:
                raise denied()
            units, writes = request_cost(request.method, request.path, request.query)
            with self.tenant.lock:
                size = self.tenant.size()
            refused = self.throttle.admit(request.claims.get("appid", ""), self.tenant.tenant_id, size, units, writes)
            if refused:
                retry_after, scope, information = refused
                raise too_many_requests(retry_after, scope, information)
            with self.tenant.lock:
                response = found.handler(self, request, **groups)
                if request.method != "GET" and response.status < 400:
                    self.tenant.save_soon()
            response.headers["x-ms-resource-unit"] = str(units)
        except GraphError as error:
            response = Response(error.status, error.body(request.headers.get("client-request-id")), error.headers)
        if log and request.in_batch:
            self.log.add(request.method, request.path, request.raw_query, response.status, request.body,
                         app=request.claims.get("appid"), batch_item=True)
        return response


def _now_text() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())

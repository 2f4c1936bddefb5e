"""The token service: OIDC discovery and the client-credentials grant for registered apps, and
validation of the bearer tokens Graph receives.

Follows "Microsoft identity platform and the OAuth 2.0 client credentials flow" and
"OpenID Connect on the Microsoft identity platform". Tokens are JWTs signed with HS256 by a
key kept in the lab state (clients never verify a Graph token; Graph does).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import urllib.parse
import uuid

from .errors import unauthenticated

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

# The audiences Graph accepts: its app id and the resource URIs of the public and national
# clouds ("National cloud deployments"); the emulator also accepts its own address, since a
# client derives the scope from the endpoint it calls ("<graph_endpoint>/.default").
GRAPH_AUDIENCES = {GRAPH_APP_ID, "https://graph.microsoft.com", "https://graph.microsoft.us",
                   "https://dod-graph.microsoft.us", "https://microsoftgraph.chinacloudapi.cn"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _basic_credentials(authorization: str | None) -> dict:
    """client_id and client_secret from ``Authorization: Basic``, each form-urlencoded."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return {}
    try:
        client_id, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except ValueError:
        raise OAuthError(401, "invalid_client", 7000218, "The Basic authorization header is malformed.") from None
    return {"client_id": urllib.parse.unquote_plus(client_id), "client_secret": urllib.parse.unquote_plus(secret)}


class OAuthError(Exception):
    """An error of the token endpoint: ``{"error", "error_description", "error_codes", ...}``."""

    def __init__(self, status: int, error: str, code: int, description: str):
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description

    def body(self, timestamp: str) -> dict:
        return {"error": self.error, "error_description": "AADSTS%d: %s" % (self.code, self.description),
                "error_codes": [self.code], "timestamp": timestamp,
                "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())}


class TokenService:
    def __init__(self, tenant_id: str, signing_key: bytes, clock, lifetime, domains=lambda: ()):
        self.tenant_id = tenant_id
        self.key = signing_key
        self.clock = clock
        self.lifetime = lifetime  # a callable: seconds, read at issue time (lab config)
        self.domains = domains    # a callable: the tenant's verified domain names

    def discovery(self, base: str, tenant: str) -> dict:
        # MSAL reads authorization_endpoint and token_endpoint from here (LAB-NOTES).
        root = "%s/%s" % (base, self.tenant_id)
        return {
            "token_endpoint": root + "/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": root + "/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": "%s/%s/v2.0" % (base, self.tenant_id),
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": base + "/oidc/userinfo",
            "authorization_endpoint": root + "/oauth2/v2.0/authorize",
            "device_authorization_endpoint": root + "/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": root + "/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "roles"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }

    def known_tenant(self, tenant: str) -> bool:
        # "Microsoft identity platform endpoints": the tenant segment is the tenant id or any of
        # its verified domain names (contoso.com as well as contoso.onmicrosoft.com); another
        # tenant's name is AADSTS90002.
        names = {self.tenant_id.lower(), "organizations", "common"} | {d.lower() for d in self.domains()}
        return tenant.lower() in names

    def issue(self, tenant: str, form: dict, apps: dict, authorization: str | None = None) -> dict:
        """Client credentials grant. ``apps`` maps client id → {clientSecret, permissions}.
        The secret comes in the form (client_secret_post) or, as the discovery document also
        offers, in an ``Authorization: Basic`` header (client_secret_basic, RFC 6749 §2.3.1)."""
        if not self.known_tenant(tenant):
            raise OAuthError(400, "invalid_request", 90002, "Tenant '%s' not found." % tenant)
        form = dict(form, **_basic_credentials(authorization))
        for name in ("grant_type", "client_id", "scope"):
            if not form.get(name):
                raise OAuthError(400, "invalid_request", 900144,
                                 "The request body must contain the following parameter: '%s'." % name)
        grant = form.get("grant_type")
        if grant != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", 70003,
                             "The app requested an unsupported grant type '%s'." % grant)
        client_id = (form.get("client_id") or "").lower()
        app = apps.get(client_id)
        if not app:
            raise OAuthError(400, "unauthorized_client", 700016,
                             "Application with identifier '%s' was not found in the directory '%s'."
                             % (client_id, self.tenant_id))
        if "client_assertion" in form:
            raise OAuthError(401, "invalid_client", 700027, "Client assertion failed signature validation.")
        secret = form.get("client_secret")
        if not secret:
            raise OAuthError(401, "invalid_client", 7000218,
                             "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        if not hmac.compare_digest(secret.encode(), app["clientSecret"].encode()):
            raise OAuthError(401, "invalid_client", 7000215,
                             "Invalid client secret provided. Ensure the secret being sent in the request is the "
                             "client secret value, not the client secret ID, for a secret added to app '%s'." % client_id)
        scope = (form.get("scope") or "").split()
        if len(scope) != 1 or not scope[0].endswith("/.default"):
            raise OAuthError(400, "invalid_scope", 1002012,
                             "The provided value for scope %s is not valid. Client credential flows must have a "
                             "scope value with /.default suffixed to the resource identifier." % " ".join(scope))
        now = int(self.clock())
        lifetime = int(self.lifetime())
        claims = {
            "aud": scope[0][:-len("/.default")], "iss": "https://sts.windows.net/%s/" % self.tenant_id,
            "iat": now, "nbf": now, "exp": now + lifetime, "appid": client_id, "azp": client_id,
            "idtyp": "app", "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, "sp/" + client_id)),
            "roles": sorted(app.get("permissions") or []), "tid": self.tenant_id, "ver": "1.0",
            "uti": secrets.token_urlsafe(16),
        }
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                "access_token": self._sign(claims)}

    def _sign(self, claims: dict) -> str:
        header = _b64(json.dumps({"typ": "JWT", "alg": "HS256", "kid": "lab"}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self.key, ("%s.%s" % (header, payload)).encode(), hashlib.sha256).digest()
        return "%s.%s.%s" % (header, payload, _b64(signature))

    def validate(self, authorization: str | None, base: str = "") -> dict:
        """The claims of a valid bearer token, or a 401 InvalidAuthenticationToken. ``base`` is
        the emulator's address as the client called it (an accepted audience)."""
        if not authorization or not authorization.strip():
            raise unauthenticated("Access token is empty.")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("Access token is empty.")
        parts = token.strip().split(".")
        if len(parts) != 3:
            raise unauthenticated("IDX14100: JWT is not well formed, there are no dots (.).")
        expected = hmac.new(self.key, ("%s.%s" % (parts[0], parts[1])).encode(), hashlib.sha256).digest()
        try:
            valid = hmac.compare_digest(expected, _unb64(parts[2]))
            claims = json.loads(_unb64(parts[1]))
        except ValueError:
            valid = False
        if not valid:
            raise unauthenticated("Access token validation failure. Invalid signature.")
        if claims.get("tid") != self.tenant_id:
            raise unauthenticated("Access token validation failure. Invalid audience.")
        # A token for another resource (e.g. https://management.azure.com/.default) is refused by
        # Graph: 401 "Access token validation failure. Invalid audience."
        audience = str(claims.get("aud") or "").rstrip("/").lower()
        if audience not in GRAPH_AUDIENCES and audience != base.rstrip("/").lower():
            raise unauthenticated("Access token validation failure. Invalid audience.")
        if claims.get("exp", 0) <= self.clock():
            raise unauthenticated("Lifetime validation failed, the token is expired.")
        return claims

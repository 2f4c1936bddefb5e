"""Graph's error body and the errors the emulator answers with.

Shape from "Microsoft Graph error responses and resource types": ``{"error": {"code",
"message", "innerError": {"date", "request-id", "client-request-id"}, "details": [...]}}``.
"""

from __future__ import annotations

import datetime
import uuid


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, details=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = dict(headers or {})

    def body(self, client_request_id: str | None = None) -> dict:
        error = {
            "code": self.code,
            "message": self.message,
            "innerError": {
                "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": str(uuid.uuid4()),
                "client-request-id": client_request_id or str(uuid.uuid4()),
            },
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def invalid_value(prop: str, resource: str = "User") -> GraphError:
    return bad_request("Invalid value specified for property '%s' of resource '%s'." % (prop, resource))


def unsupported_query(message: str) -> GraphError:
    # "Advanced query capabilities on Microsoft Entra ID objects": queries that need
    # ConsistencyLevel: eventual + $count=true are refused without them.
    return GraphError(400, "Request_UnsupportedQuery", message)


def not_found(key: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound",
                      "Resource '%s' does not exist or one of its queried reference-property objects are not present." % key)


def segment_not_found(segment: str) -> GraphError:
    return GraphError(400, "BadRequest", "Resource not found for the segment '%s'." % segment)


def method_not_allowed() -> GraphError:
    return GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")


def conflict(prop: str) -> GraphError:
    # "Another object with the same value for property X already exists." with an
    # ObjectConflict detail naming the property.
    message = "Another object with the same value for property %s already exists." % prop
    return GraphError(400, "Request_BadRequest", message,
                      details=[{"code": "ObjectConflict", "message": message, "target": prop}])


ON_PREM_MASTERED = ("Unable to update the specified properties for on-premises mastered Directory Sync "
                    "objects or objects currently undergoing migration.")


def on_prem_mastered() -> GraphError:
    return bad_request(ON_PREM_MASTERED)


def denied() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


WWW_AUTHENTICATE = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                    'client_id="00000003-0000-0000-c000-000000000000"')


def unauthenticated(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, headers={"WWW-Authenticate": WWW_AUTHENTICATE})


def too_many_requests(retry_after: int, scope: str, information: str) -> GraphError:
    return GraphError(429, "TooManyRequests", "Too many requests.", headers={
        "Retry-After": str(retry_after), "x-ms-throttle-scope": scope, "x-ms-throttle-information": information})

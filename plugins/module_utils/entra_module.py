# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base every Entra module stands on: auth options, one Graph client, error translation,
and the bulk result shape ``results: [{item, changed, before, after, msg}]``."""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.syncfix.entra.plugins.module_utils import bulk_result, graph_auth, graph_client
from ansible_collections.syncfix.entra.plugins.module_utils.graph_auth import AuthError
from ansible_collections.syncfix.entra.plugins.module_utils.graph_client import GraphClient, GraphError

GRAPH_ARGUMENT_SPEC = dict(
    auth_method=dict(type="str", default="auto", choices=list(graph_auth.AUTH_METHODS)),
    tenant_id=dict(type="str", fallback=(env_fallback, ["AZURE_TENANT_ID"])),
    client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
    client_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_CLIENT_SECRET"])),
    client_certificate_path=dict(type="path", fallback=(env_fallback, ["AZURE_CLIENT_CERTIFICATE_PATH"])),
    client_certificate_password=dict(type="str", no_log=True,
                                     fallback=(env_fallback, ["AZURE_CLIENT_CERTIFICATE_PASSWORD"])),
    federated_token_file=dict(type="path", fallback=(env_fallback, ["AZURE_FEDERATED_TOKEN_FILE"])),
    managed_identity_client_id=dict(type="str"),
    access_token=dict(type="str", no_log=True),
    graph_endpoint=dict(type="str", default="https://graph.microsoft.com"),
    authority_host=dict(type="str", fallback=(env_fallback, ["AZURE_AUTHORITY_HOST"])),
    ca_path=dict(type="path"),
    validate_certs=dict(type="bool", default=True),
    request_timeout=dict(type="float", default=30.0),
    throttle_deadline=dict(type="float", default=300.0),
    write_quota=dict(type="dict", options=dict(
        writes=dict(type="int", default=graph_client.DEFAULT_WRITE_QUOTA[0]),
        period=dict(type="float", default=graph_client.DEFAULT_WRITE_QUOTA[1]),
    )),
)


class EntraModule:
    """An AnsibleModule with Graph auth options and a lazily built Graph client."""

    def __init__(self, argument_spec, **kwargs):
        spec = dict(GRAPH_ARGUMENT_SPEC)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self._client = None
        if graph_client.httpx is None:
            self.module.fail_json(msg=missing_required_lib("httpx"))

    @property
    def client(self):
        if self._client is None:
            params = self.params
            verify = params["ca_path"] or True
            if not params["validate_certs"]:
                self.module.warn("validate_certs is false: TLS certificates of Graph and the authority are not checked")
                verify = False
            quota = params["write_quota"] or {}
            try:
                token = graph_auth.token_provider(params, verify=verify)
            except AuthError as e:
                self.module.fail_json(msg=str(e))
            self._client = GraphClient(
                params["graph_endpoint"], _CheckedToken(token, params), verify=verify,
                timeout=params["request_timeout"], deadline=params["throttle_deadline"],
                write_quota=(quota.get("writes") or graph_client.DEFAULT_WRITE_QUOTA[0],
                             quota.get("period") or graph_client.DEFAULT_WRITE_QUOTA[1]),
            )
        return self._client

    def fail(self, msg, **result):
        self.module.fail_json(msg=msg, **result)

    def exit_bulk(self, results, diff=None, **extra):
        """Exit with the bulk result shape (see bulk_result); failed items fail the task."""
        if self._client is not None:
            extra["graph_requests"] = dict(self._client.stats)
        bulk_result.exit_bulk(self.module, results, diff, **extra)


class _CheckedToken:
    """Turns a credential failure into AuthError that names the app, tenant and authority."""

    def __init__(self, provider, params):
        self._provider = provider
        self._params = params

    def get(self):
        try:
            return self._provider.get()
        except AuthError:
            raise
        except Exception as e:  # azure-identity raises several types; all mean "no token"
            raise AuthError("could not get a Microsoft Graph token for client %s in tenant %s from %s: %s" % (
                self._params.get("client_id"), self._params.get("tenant_id"),
                self._params.get("authority_host") or graph_auth.PUBLIC_AUTHORITY_HOST, _first_line(e)))


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def graph_failure_message(error):
    """The text for a failed task from a GraphError or AuthError."""
    if isinstance(error, GraphError):
        return error.describe()
    return str(error)

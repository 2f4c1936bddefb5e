# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Tokens for Microsoft Graph, from azure-identity, for every way an automation signs in.

Which credential is used: ``auth_method`` when given, else the first that the options (or
azure-identity's own environment variables, through the argument spec's fallbacks) make
possible: an access token, a client secret, a certificate, a federated token file
(workload identity federation, as in CI and AWX).  Managed identity and the Azure CLI are
never guessed; they are chosen by name.  No Azure subscription is needed for any of them.

National clouds and the lab use the same seam: ``authority_host`` (azure-identity then needs
``disable_instance_discovery``, since instance discovery asks the public cloud about the
authority) and ``graph_ca_path``/``graph_validate_certs`` for the token requests.

The client secret, certificate assertion or federated token goes to the authority, so only the
Microsoft authorities azure-identity knows (``AzureAuthorityHosts``: the public cloud, Azure
China, Azure US Government; Microsoft Cloud Germany closed on 2021-10-29) are accepted as they
are; any other host (a lab, an emulator) needs ``allow_custom_authority``.
"""

import os
import time

from urllib.parse import urlsplit

from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError, SyncfixError

try:
    import azure.identity as azure_identity
except ImportError:  # reported by the module base with the package name and install hint
    azure_identity = None

AUTH_METHODS = (
    "auto", "access_token", "client_secret", "certificate", "federated_token", "managed_identity", "azure_cli",
)
PUBLIC_AUTHORITY_HOST = "https://login.microsoftonline.com"
# azure-identity's AzureAuthorityHosts (1.27): AZURE_PUBLIC_CLOUD, AZURE_CHINA, AZURE_GOVERNMENT.
# Its AZURE_GERMANY (login.microsoftonline.de) is deprecated: "Microsoft Cloud Germany was closed
# on October 29th, 2021".
MICROSOFT_AUTHORITY_HOSTS = ("login.microsoftonline.com", "login.chinacloudapi.cn", "login.microsoftonline.us")
# The credentials that send a secret, an assertion or a federated token to the authority.
AUTHORITY_METHODS = ("client_secret", "certificate", "federated_token")
# Refresh a little before expiry so a long bulk run never sends an expired token.
TOKEN_REFRESH_MARGIN = 300


class AuthError(SyncfixError):
    """The options do not make a usable credential; the message says what to set."""

    kind = "auth"


def choose_auth_method(params):
    """The credential ``params`` ask for; pure, so the rules are testable without azure-identity."""
    method = params.get("auth_method") or "auto"
    if method == "auto":
        if params.get("access_token"):
            method = "access_token"
        elif params.get("client_secret"):
            method = "client_secret"
        elif params.get("client_certificate_path"):
            method = "certificate"
        elif params.get("federated_token_file"):
            method = "federated_token"
        else:
            raise AuthError(
                "no Microsoft Graph credential given: set client_secret, client_certificate_path or "
                "federated_token_file (with tenant_id and client_id), or access_token, or choose "
                "auth_method=managed_identity or auth_method=azure_cli; the AZURE_* environment "
                "variables of azure-identity are read as fallbacks"
            )
    needs = {
        "client_secret": ("tenant_id", "client_id", "client_secret"),
        "certificate": ("tenant_id", "client_id", "client_certificate_path"),
        "federated_token": ("tenant_id", "client_id", "federated_token_file"),
        "access_token": ("access_token",),
        "managed_identity": (),
        "azure_cli": (),
    }[method]
    missing = [name for name in needs if not params.get(name)]
    if missing:
        raise AuthError("auth_method %s needs %s" % (method, ", ".join(missing)))
    return method


class CustomAuthorityRefused(AuthError, InputError):
    """``authority_host`` is not a Microsoft authority and ``allow_custom_authority`` is not set."""

    kind = "input"


def authority_url(authority_host):
    """azure-identity's reading of ``authority_host``: a bare host is https, trailing / dropped."""
    value = authority_host.strip().rstrip("/")
    return value if "://" in value else "https://" + value


def microsoft_authority(authority_host):
    """True when ``authority_host`` is one of Microsoft's sign-in authorities, over https on the
    default port, with no path."""
    try:
        parts = urlsplit(authority_url(authority_host))
        port = parts.port
    except ValueError:
        return False
    return (parts.scheme.lower() == "https" and (parts.hostname or "").lower() in MICROSOFT_AUTHORITY_HOSTS
            and port in (None, 443) and parts.path in ("", "/") and not parts.query and not parts.username)


def authority_refusal(params):
    """The refusal of a non-Microsoft ``authority_host`` without ``allow_custom_authority``, or None."""
    authority = params.get("authority_host")
    if not authority or microsoft_authority(authority) or params.get("allow_custom_authority"):
        return None
    return ("authority_host %s is not a Microsoft sign-in authority (%s); the client secret, certificate assertion or "
            "federated token would be sent to it. Use one of those, or set allow_custom_authority=true (environment "
            "SYNCFIX_ALLOW_CUSTOM_AUTHORITY=true) if you trust this host with the app's credential (a lab, an "
            "emulator)" % (authority, ", ".join("https://" + host for host in MICROSOFT_AUTHORITY_HOSTS)))


def graph_scope(graph_endpoint):
    """The application-permission scope of a Graph endpoint (``https://graph.microsoft.com/.default``)."""
    return graph_endpoint.rstrip("/") + "/.default"


class StaticToken:
    """A pre-acquired access token (for example from ``az account get-access-token``)."""

    def __init__(self, token):
        self._token = token

    def get(self):
        return self._token


class CredentialToken:
    """One token per module run from an azure-identity credential, refreshed only near expiry."""

    def __init__(self, credential, scope, clock=time.time):
        self._credential = credential
        self._scope = scope
        self._clock = clock
        self._token = None

    def get(self):
        if self._token is None or self._token.expires_on - TOKEN_REFRESH_MARGIN <= self._clock():
            self._token = self._credential.get_token(self._scope)
        return self._token.token


def _certificate_credential(params, options):
    """azure-identity reads the certificate when the credential is made: a missing, unreadable or
    undecodable file is the option's fault, said as such (not a traceback)."""
    path = params["client_certificate_path"]
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise AuthError("client_certificate_path %s is not a readable file; give the PEM or PKCS#12 file holding "
                        "the app registration's certificate and private key" % path)
    try:
        return azure_identity.CertificateCredential(
            params["tenant_id"], params["client_id"], path, password=params.get("client_certificate_password"),
            **options)
    except (ValueError, TypeError, OSError) as e:
        raise AuthError("client_certificate_path %s could not be loaded (%s); it must hold the certificate and its "
                        "private key (PEM, or PKCS#12 with client_certificate_password)" % (path, e))


def token_provider(params, verify=True):
    """A token provider for ``params`` (the module's auth options); raises AuthError."""
    method = choose_auth_method(params)
    if method == "access_token":
        return StaticToken(params["access_token"])
    if azure_identity is None:
        raise AuthError("auth_method %s needs the Python package azure-identity: pip install azure-identity" % method)
    # azure-core waits 300 s for an answer and retries: a silent authority would hang the task.
    timeout = params.get("request_timeout") or 30.0
    options = {"connection_verify": verify, "connection_timeout": timeout, "read_timeout": timeout}
    authority = params.get("authority_host")
    if method in AUTHORITY_METHODS:
        refusal = authority_refusal(params)
        if refusal:
            raise CustomAuthorityRefused(refusal)
    if authority and authority_url(authority) != PUBLIC_AUTHORITY_HOST:
        options.update(authority=authority, disable_instance_discovery=True)
    if method == "client_secret":
        credential = azure_identity.ClientSecretCredential(
            params["tenant_id"], params["client_id"], params["client_secret"], **options)
    elif method == "certificate":
        credential = _certificate_credential(params, options)
    elif method == "federated_token":
        credential = azure_identity.WorkloadIdentityCredential(
            tenant_id=params["tenant_id"], client_id=params["client_id"],
            token_file_path=params["federated_token_file"], **options)
    elif method == "managed_identity":
        credential = azure_identity.ManagedIdentityCredential(
            client_id=params.get("managed_identity_client_id"), connection_verify=verify, connection_timeout=timeout,
            read_timeout=timeout)
    else:
        credential = azure_identity.AzureCliCredential(tenant_id=params.get("tenant_id") or "")
    return CredentialToken(credential, graph_scope(params["graph_endpoint"]))

# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one module base: connection options per directory, lazy clients, one error path, one
result shape.  Internal to this collection: not a public API.

A module names the directories it talks to (``graph``, ``ad`` or both); their connection
specs are merged into its own (``_module.argspec``), each client is built the first time it is used,
every ``SyncfixError`` becomes a failed task carrying ``error`` (see ``_rules.errors``), and the
bulk result shape comes from ``_module.bulk_result``.
"""

import os

from ansible.module_utils.basic import AnsibleFallbackNotFound, missing_required_lib

from ansible_collections.syncfix.entra.plugins.module_utils._rules import lookup_failure
from ansible_collections.syncfix.entra.plugins.module_utils._ldap import objects as ad_objects
from ansible_collections.syncfix.entra.plugins.module_utils._module import bulk_result
from ansible_collections.syncfix.entra.plugins.module_utils._graph import auth as graph_auth
from ansible_collections.syncfix.entra.plugins.module_utils._graph import client as graph_client
from ansible_collections.syncfix.entra.plugins.module_utils._ldap import client as ldap_client
from ansible_collections.syncfix.entra.plugins.module_utils._module.argspec import RULE_KEYS, ArgumentSpec
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError, error_details
from ansible_collections.syncfix.entra.plugins.module_utils._graph.auth import AuthError
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphClient
from ansible_collections.syncfix.entra.plugins.module_utils._ldap.client import DirectoryConnection, LdapError

AD_ENV_PREFIX = "SYNCFIX_AD_"


def env_fallback(*names):
    """The first of these environment variables that is set and not empty.  An empty one counts
    as unset: AWX's credential injectors set a variable to "" when an optional field is blank."""
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise AnsibleFallbackNotFound


def _env(*names):
    return (env_fallback, list(names))


def _ad_env(name):
    return _env(AD_ENV_PREFIX + name.upper())


def graph_connection_spec():
    """Microsoft Graph sign-in and transport options (doc fragment ``syncfix.entra.graph``).

    The environment names are azure-identity's first, then those AWX's Azure credential and
    azure.azcollection set (``AZURE_TENANT``, ``AZURE_SECRET``); azure.azcollection's option
    names are aliases where they mean the same thing (``tenant``, ``secret``,
    ``x509_certificate_path``)."""
    return ArgumentSpec(dict(
        auth_method=dict(type="str", default="auto", choices=list(graph_auth.AUTH_METHODS)),
        tenant_id=dict(type="str", aliases=["tenant"], fallback=_env("AZURE_TENANT_ID", "AZURE_TENANT")),
        client_id=dict(type="str", fallback=_env("AZURE_CLIENT_ID")),
        client_secret=dict(type="str", no_log=True, aliases=["secret"],
                           fallback=_env("AZURE_CLIENT_SECRET", "AZURE_SECRET")),
        client_certificate_path=dict(type="path", aliases=["x509_certificate_path"],
                                     fallback=_env("AZURE_CLIENT_CERTIFICATE_PATH")),
        client_certificate_password=dict(type="str", no_log=True,
                                         fallback=_env("AZURE_CLIENT_CERTIFICATE_PASSWORD")),
        federated_token_file=dict(type="path", fallback=_env("AZURE_FEDERATED_TOKEN_FILE")),
        managed_identity_client_id=dict(type="str"),
        access_token=dict(type="str", no_log=True),
        graph_endpoint=dict(type="str", default="https://graph.microsoft.com",
                            fallback=_env("SYNCFIX_GRAPH_ENDPOINT")),
        authority_host=dict(type="str", fallback=_env("AZURE_AUTHORITY_HOST")),
        allow_custom_authority=dict(type="bool", default=False, fallback=_env("SYNCFIX_ALLOW_CUSTOM_AUTHORITY")),
        graph_ca_path=dict(type="path", aliases=["ca_path"], fallback=_env("SYNCFIX_GRAPH_CA_PATH")),
        graph_validate_certs=dict(type="bool", default=True, aliases=["validate_certs"]),
        request_timeout=dict(type="float", default=30.0),
        throttle_deadline=dict(type="float", default=300.0),
        write_quota=dict(type="dict", options=dict(
            writes=dict(type="int", default=graph_client.DEFAULT_WRITE_QUOTA[0]),
            period=dict(type="float", default=graph_client.DEFAULT_WRITE_QUOTA[1]),
        )),
    ))


# microsoft.ad's tls_mode spelling is the canonical one; the older one-word spelling is kept.
TLS_MODES = {"ldaps": "ldaps", "start_tls": "starttls", "starttls": "starttls", "none": "none"}
# microsoft.ad's cert_validation: -> (validate the chain, check the host name)
CERT_VALIDATION = {"always": (True, True), "ignore_hostname": (True, False), "ignore": (False, False)}


def ad_connection_spec():
    """LDAP connection options for AD (doc fragment ``syncfix.entra.ad``).

    microsoft.ad's and community.general's LDAP spellings are aliases (``username``,
    ``password``, ``bind_pw``, ``ca_cert``, ``server_uri``, ``auth_protocol``) or accepted values
    (``tls_mode: start_tls``, ``cert_validation``), so a task written for those collections is
    not refused."""
    return ArgumentSpec(dict(
        server=dict(type="list", elements="str", required=True, aliases=["server_uri"], fallback=_ad_env("server")),
        port=dict(type="int", fallback=_ad_env("port")),
        tls_mode=dict(type="str", default="ldaps", choices=list(TLS_MODES), fallback=_ad_env("tls_mode")),
        ldap_validate_certs=dict(type="bool", aliases=["validate_certs"], fallback=_ad_env("validate_certs")),
        cert_validation=dict(type="str", choices=list(CERT_VALIDATION), aliases=["cert_verification"]),
        ldap_ca_path=dict(type="path", aliases=["ca_path", "ca_cert"], fallback=_ad_env("ca_path")),
        bind_dn=dict(type="str", aliases=["username"], fallback=_ad_env("bind_dn")),
        bind_password=dict(type="str", no_log=True, aliases=["password", "bind_pw"], fallback=_ad_env("bind_password")),
        ldap_auth=dict(type="str", default="simple", choices=["simple", "kerberos"], aliases=["auth_protocol"],
                       fallback=_ad_env("auth")),
        base_dn=dict(type="str", fallback=_ad_env("base_dn")),
        referrals=dict(type="bool", default=False, fallback=_ad_env("referrals")),
        referral_hosts=dict(type="list", elements="str", default=[], fallback=_ad_env("referral_hosts")),
        connect_timeout=dict(type="int", default=10, fallback=_ad_env("connect_timeout")),
    ), required_if=[["ldap_auth", "simple", ["bind_dn", "bind_password"]]],
        mutually_exclusive=[["ldap_validate_certs", "cert_validation"]])


def ad_certificate_checks(params):
    """(validate the chain, check the host name) from ldap_validate_certs or cert_validation."""
    if params.get("cert_validation"):
        return CERT_VALIDATION[params["cert_validation"]]
    validate = params.get("ldap_validate_certs") is not False
    return validate, validate


CONNECTION_SPECS = {"graph": graph_connection_spec, "ad": ad_connection_spec}


class SyncfixModule:
    """An AnsibleModule with the connection options of the directories it talks to."""

    def __init__(self, argument_spec=None, directories=("graph",), **kwargs):
        rules = dict((key, kwargs.pop(key)) for key in RULE_KEYS if key in kwargs)
        spec = ArgumentSpec(argument_spec, **rules)
        for name in directories:
            spec.merge(CONNECTION_SPECS[name]())
        self.module = spec.create_ansible_module(**kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.directories = tuple(directories)
        self._graph = None
        self._ad = None
        self.skipped = []
        if "graph" in directories and graph_client.httpx is None:
            self.module.fail_json(msg=missing_required_lib("httpx"))
        if "ad" in directories and ldap_client.ldap3 is None:
            self.module.fail_json(msg=missing_required_lib("ldap3"))

    # --- clients -------------------------------------------------------------------------

    @property
    def graph(self):
        """The Graph client; a credential that can't be made fails the task before any request."""
        if self._graph is None:
            params = self.params
            # azure-identity reads a bare authority host as https; an explicit http:// is refused.
            for option, plain in (("graph_endpoint", not params["graph_endpoint"].lower().startswith("https://")),
                                  ("authority_host", (params.get("authority_host") or "").lower().startswith("http:"))):
                if plain:
                    self.fail_error(InputError(
                        "%s must be an https:// URL (got %s): the access token and the client secret would cross "
                        "the network in clear text" % (option, params[option])))
            verify = params["graph_ca_path"] or True
            if not params["graph_validate_certs"]:
                self.module.warn("graph_validate_certs is false: TLS certificates of Graph and the authority are "
                                 "not checked")
                verify = False
            quota = params["write_quota"] or {}
            for key in ("writes", "period"):
                if quota.get(key) is not None and quota[key] <= 0:
                    self.fail_error(InputError("write_quota.%s must be above 0 (got %s); leave write_quota out for "
                                               "Graph's published limit" % (key, quota[key])))
            try:
                token = graph_auth.token_provider(params, verify=verify)
            except AuthError as e:
                self.fail_error(e)
            self._graph = GraphClient(
                params["graph_endpoint"], _CheckedToken(token, params), verify=verify,
                timeout=params["request_timeout"], deadline=params["throttle_deadline"],
                write_quota=(quota.get("writes") or graph_client.DEFAULT_WRITE_QUOTA[0],
                             quota.get("period") or graph_client.DEFAULT_WRITE_QUOTA[1]),
            )
        return self._graph

    @property
    def ad(self):
        """The bound LDAP connection; a failed bind fails the task before any write."""
        if self._ad is None:
            params = self.params
            tls_mode = TLS_MODES[params["tls_mode"]]
            validate, check_hostname = ad_certificate_checks(params)
            if tls_mode == "none":
                self.module.warn("tls_mode is none: the bind password crosses the network in clear text")
            if not validate:
                self.module.warn("LDAP certificate validation is off: the domain controller's certificate is not "
                                 "checked")
            elif not check_hostname:
                self.module.warn("cert_validation is ignore_hostname: any certificate the CA signed is accepted for "
                                 "the domain controller, whatever name it carries")
            try:
                self._ad = DirectoryConnection(
                    params["server"], bind_dn=params["bind_dn"], bind_password=params["bind_password"],
                    tls_mode=tls_mode, port=params["port"], validate_certs=validate, check_hostname=check_hostname,
                    ca_path=params["ldap_ca_path"], auth=params["ldap_auth"], base_dn=params["base_dn"],
                    connect_timeout=params["connect_timeout"], referrals=params["referrals"],
                    referral_hosts=params["referral_hosts"],
                ).connect()
            except LdapError as e:
                self.fail_error(e, "%s; nothing was changed" % e)
        return self._ad

    def find_ad_objects(self, identities, attributes=(), classes=ad_objects.OBJECT_CLASSES):
        """Each identity's one AD entry.  An identity that matches nothing or several objects
        fails the task before any write, naming each, unless ``lookup_failure_action`` (when the
        module has it) is warn or ignore: then it is left out and reported as skipped."""
        try:
            lookup = ad_objects.find_objects(self.ad, identities, attributes, classes=classes)
        except LdapError as e:
            self.fail_error(e, "%s; nothing was changed" % e)
        unknown = ad_objects.lookup_unknown(lookup, classes)
        if unknown:
            decision = lookup_failure.decide(self.params.get("lookup_failure_action") or lookup_failure.FAIL, unknown,
                                             fix="name each object by DN, objectGUID, UPN, mail or sAMAccountName")
            if decision.failed:
                self.fail_error(InputError("unknown objects, nothing was changed: " + decision.summary()))
            self.skip_unknown(decision)
        return lookup.found

    def skip_unknown(self, decision):
        """Report the selectors a lookup left out (lookup_failure_action warn or ignore)."""
        for text in decision.warnings:
            self.warn(text)
        for selector, why in decision.reasons.items():
            self.skipped.append(dict(item=selector, changed=False, found=False,
                                     msg="skipped: %s (lookup_failure_action: %s)" % (why, decision.action)))

    # --- results -------------------------------------------------------------------------

    def counters(self):
        """Requests and LDAP operations sent, for every result."""
        counters = {}
        if self._graph is not None:
            counters["graph_requests"] = dict(self._graph.stats)
        if self._ad is not None:
            counters["ldap_operations"] = dict(self._ad.stats)
        return counters

    def warn(self, msg):
        self.module.warn(msg)

    def fail(self, msg, **result):
        self.module.fail_json(msg=msg, **dict(self.counters(), **result))

    def fail_error(self, error, msg=None, **result):
        """Fail the task on ``error``; ``msg`` defaults to the error's own text."""
        self.fail(msg or describe_error(error), error=error_details(error), **result)

    def exit_bulk(self, results, diff=None, **extra):
        """Exit with the bulk result shape (see bulk_result); failed items fail the task.  The
        selectors a lookup skipped come last."""
        results = list(results) + self.skipped
        extra = dict(self.counters(), **extra)
        if self._ad is not None:
            self._ad.close()
        bulk_result.exit_bulk(self.module, results, diff, **extra)

    def exit(self, **result):
        self.module.exit_json(**dict(self.counters(), **result))


def describe_error(error):
    """The text of a failed task or item for any error."""
    describe = getattr(error, "describe", None)
    return describe() if callable(describe) else str(error)


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

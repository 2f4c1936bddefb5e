# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base every AD module stands on: LDAP options, one bound connection, bulk results."""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.syncfix.entra.plugins.module_utils import ad_objects, bulk_result, ldap_client
from ansible_collections.syncfix.entra.plugins.module_utils.ldap_client import DirectoryConnection, LdapError

ENV_PREFIX = "SYNCFIX_AD_"


def _env(name):
    return (env_fallback, [ENV_PREFIX + name.upper()])


LDAP_ARGUMENT_SPEC = dict(
    server=dict(type="list", elements="str", required=True, fallback=_env("server")),
    port=dict(type="int", fallback=_env("port")),
    tls_mode=dict(type="str", default="ldaps", choices=["ldaps", "starttls", "none"], fallback=_env("tls_mode")),
    validate_certs=dict(type="bool", default=True, fallback=_env("validate_certs")),
    ca_path=dict(type="path", fallback=_env("ca_path")),
    bind_dn=dict(type="str", fallback=_env("bind_dn")),
    bind_password=dict(type="str", no_log=True, fallback=_env("bind_password")),
    auth=dict(type="str", default="simple", choices=["simple", "kerberos"], fallback=_env("auth")),
    base_dn=dict(type="str", fallback=_env("base_dn")),
    referrals=dict(type="bool", default=False, fallback=_env("referrals")),
    connect_timeout=dict(type="int", default=10, fallback=_env("connect_timeout")),
)


class ADModule:
    """An AnsibleModule with the LDAP connection options and a lazily bound connection."""

    def __init__(self, argument_spec, **kwargs):
        spec = dict(LDAP_ARGUMENT_SPEC)
        spec.update(argument_spec)
        kwargs.setdefault("required_if", []).append(["auth", "simple", ["bind_dn", "bind_password"]])
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self._connection = None
        if ldap_client.ldap3 is None:
            self.module.fail_json(msg=missing_required_lib("ldap3"))

    @property
    def connection(self):
        if self._connection is None:
            params = self.params
            if params["tls_mode"] == "none":
                self.module.warn("tls_mode is none: the bind password crosses the network in clear text")
            if not params["validate_certs"]:
                self.module.warn("validate_certs is false: the domain controller's certificate is not checked")
            try:
                self._connection = DirectoryConnection(
                    params["server"], bind_dn=params["bind_dn"], bind_password=params["bind_password"],
                    tls_mode=params["tls_mode"], port=params["port"], validate_certs=params["validate_certs"],
                    ca_path=params["ca_path"], auth=params["auth"], base_dn=params["base_dn"],
                    connect_timeout=params["connect_timeout"], referrals=params["referrals"],
                ).connect()
            except LdapError as e:
                self.module.fail_json(msg="%s; nothing was changed" % e)
        return self._connection

    def fail(self, msg, **result):
        self.module.fail_json(msg=msg, **result)

    def find_objects(self, identities, attributes=(), classes=ad_objects.OBJECT_CLASSES):
        """Each identity's one entry; fails the task, before any write, naming every identity
        that matches nothing (``noun`` says what was looked for) or several objects."""
        try:
            lookup = ad_objects.find_objects(self.connection, identities, attributes, classes=classes)
        except LdapError as e:
            self.fail("%s; nothing was changed" % e)
        noun = "AD %s" % ", ".join(classes[:-1]) + (" or %s" % classes[-1] if len(classes) > 1 else classes[0])
        problems = ["%s: no %s has this name" % (i, noun) for i in lookup.missing]
        problems += ["%s: matches several objects (%s); name one by DN or objectGUID" % (i, "; ".join(dns))
                     for i, dns in lookup.ambiguous.items()]
        if problems:
            self.fail("unknown objects, nothing was changed: " + "; ".join(problems))
        return lookup.found

    def exit_bulk(self, results, diff=None, **extra):
        """Exit with the bulk result shape (see bulk_result); failed items fail the task."""
        if self._connection is not None:
            extra["ldap_operations"] = dict(self._connection.stats)
            self._connection.close()
        bulk_result.exit_bulk(self.module, results, diff, **extra)

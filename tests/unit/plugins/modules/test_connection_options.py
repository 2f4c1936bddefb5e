"""The connection options a user coming from AWX, azure.azcollection, microsoft.ad or
community.general writes are understood: their environment variables, option names and values
reach the LDAP connection and the Graph credential as ours do."""

import pathlib

import jinja2.sandbox
import pytest
import yaml

from ansible.module_utils import basic

from ansible_collections.syncfix.entra.plugins.module_utils._module import base as _module_base

from module_runner import patch_module_args


class Failed(Exception):
    pass


def module(args, directories, monkeypatch, env=None):
    for name in ("AZURE_TENANT_ID", "AZURE_TENANT", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_SECRET",
                 "SYNCFIX_GRAPH_ENDPOINT", "SYNCFIX_AD_SERVER", "SYNCFIX_AD_BIND_DN", "SYNCFIX_AD_BIND_PASSWORD",
                 "AZURE_AUTHORITY_HOST", "SYNCFIX_ALLOW_CUSTOM_AUTHORITY", "SYNCFIX_AD_REFERRAL_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)

    def fail(self, msg, **kwargs):
        raise Failed(msg)

    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail)
    with patch_module_args(args):
        return _module_base.SyncfixModule({}, directories=directories)


def ldap_connection(args, monkeypatch):
    """The DirectoryConnection keyword arguments the module builds from ``args``."""
    made = {}

    class Connection:
        def __init__(self, servers, **options):
            made.update(options, servers=servers)

        def connect(self):
            return self

    monkeypatch.setattr(_module_base, "DirectoryConnection", Connection)
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: made.setdefault("warnings", []).append(msg))
    module(args, ("ad",), monkeypatch).ad  # pylint: disable=expression-not-assigned
    return made


def test_microsoft_ad_spellings_reach_the_ldap_connection(monkeypatch):
    made = ldap_connection(dict(server=["dc1.contoso.com"], username="CONTOSO\\svc", password="pw", tls_mode="start_tls",
                                ca_cert="/etc/ssl/ad-ca.pem", cert_validation="ignore_hostname",
                                auth_protocol="simple"), monkeypatch)
    assert (made["bind_dn"], made["bind_password"], made["tls_mode"], made["ca_path"], made["auth"]) == (
        "CONTOSO\\svc", "pw", "starttls", "/etc/ssl/ad-ca.pem", "simple")
    assert (made["validate_certs"], made["check_hostname"]) == (True, False)
    assert any("ignore_hostname" in w for w in made["warnings"])


def test_community_general_spellings_reach_the_ldap_connection(monkeypatch):
    made = ldap_connection(dict(server_uri=["ldaps://dc1.contoso.com"], bind_dn="CN=svc,DC=contoso,DC=com",
                                bind_pw="pw", validate_certs=False), monkeypatch)
    assert (made["servers"], made["bind_password"], made["validate_certs"]) == (["ldaps://dc1.contoso.com"], "pw", False)


@pytest.mark.parametrize("value,checks", [("always", (True, True)), ("ignore", (False, False)), (None, (True, True))])
def test_cert_validation_levels(monkeypatch, value, checks):
    args = dict(server=["dc1"], bind_dn="a", bind_password="b")
    if value:
        args["cert_validation"] = value
    made = ldap_connection(args, monkeypatch)
    assert (made["validate_certs"], made["check_hostname"]) == checks


def test_both_certificate_options_at_once_are_an_argument_error(monkeypatch):
    with pytest.raises(Failed, match="mutually exclusive: ldap_validate_certs|cert_validation"):
        module(dict(server=["dc1"], bind_dn="a", bind_password="b", ldap_validate_certs=True, cert_validation="ignore"),
               ("ad",), monkeypatch)


def test_a_microsoft_ad_auth_protocol_we_do_not_offer_is_refused_naming_the_choices(monkeypatch):
    with pytest.raises(Failed, match="simple, kerberos"):
        module(dict(server=["dc1"], auth_protocol="negotiate"), ("ad",), monkeypatch)


def test_simple_bind_without_credentials_is_an_argument_error(monkeypatch):
    with pytest.raises(Failed, match="ldap_auth is simple but all of the following are missing: bind_dn, bind_password"):
        module(dict(server=["dc1"]), ("ad",), monkeypatch)


def test_awx_and_azcollection_environment_variables_are_read(monkeypatch):
    params = module({}, ("graph",), monkeypatch, env={
        "AZURE_TENANT": "contoso.onmicrosoft.com", "AZURE_CLIENT_ID": "app", "AZURE_SECRET": "s3cret",
        "SYNCFIX_GRAPH_ENDPOINT": "https://graph.microsoft.us"}).params
    assert (params["tenant_id"], params["client_id"], params["client_secret"], params["graph_endpoint"]) == (
        "contoso.onmicrosoft.com", "app", "s3cret", "https://graph.microsoft.us")


def test_azure_identity_names_win_over_the_awx_names(monkeypatch):
    params = module({}, ("graph",), monkeypatch, env={
        "AZURE_TENANT_ID": "first", "AZURE_TENANT": "second", "AZURE_CLIENT_SECRET": "one", "AZURE_SECRET": "two"}).params
    assert (params["tenant_id"], params["client_secret"]) == ("first", "one")


def test_azcollection_option_names_are_aliases(monkeypatch):
    params = module(dict(tenant="t", client_id="c", secret="s", x509_certificate_path="/app.pem"), ("graph",),
                    monkeypatch).params
    assert (params["tenant_id"], params["client_secret"], params["client_certificate_path"]) == ("t", "s", "/app.pem")


def test_secrets_under_any_name_are_no_log(monkeypatch):
    spec = _module_base.graph_connection_spec().merge(_module_base.ad_connection_spec()).argument_spec
    assert spec["client_secret"]["no_log"] and spec["bind_password"]["no_log"]
    assert "secret" in spec["client_secret"]["aliases"] and "password" in spec["bind_password"]["aliases"]


# -- the AWX credential types in docs/awx inject what the modules read -------------------------

AWX_TYPES = pathlib.Path(__file__).resolve().parents[4] / "docs" / "awx"


def inject(name, inputs, tmp_path):
    """What AWX does with a custom credential type: render the file templates into files and
    the env templates with the inputs (Jinja2, sandboxed); returns the environment."""
    definition = yaml.safe_load((AWX_TYPES / name).read_text())
    fields = set(field["id"] for field in definition["inputs"]["fields"])
    assert set(inputs) <= fields and set(definition["inputs"]["required"]) <= set(inputs)
    environment = jinja2.sandbox.SandboxedEnvironment()
    filenames = {}
    for key, template in definition["injectors"].get("file", {}).items():
        path = tmp_path / key
        path.write_text(environment.from_string(template).render(**inputs))
        filenames[key.split(".", 1)[1]] = str(path)
    return dict((variable, environment.from_string(template).render(tower={"filename": filenames}, **inputs))
                for variable, template in definition["injectors"]["env"].items())


def test_the_ad_bind_credential_type_sets_every_connection_option(monkeypatch, tmp_path):
    env = inject("credential_type_ad_bind.yml", dict(server="dc1.contoso.com,dc2.contoso.com", bind_dn="svc@contoso.com",
                                                     bind_password="pw", ca_certificate="-----BEGIN CERTIFICATE-----"),
                 tmp_path)
    params = module({}, ("ad",), monkeypatch, env=env).params
    assert params["server"] == ["dc1.contoso.com", "dc2.contoso.com"]
    assert (params["bind_dn"], params["bind_password"]) == ("svc@contoso.com", "pw")
    assert open(params["ldap_ca_path"]).read() == "-----BEGIN CERTIFICATE-----"
    assert params["base_dn"] is None, "a blank optional field is unset, not an empty DN"


def test_a_blank_ca_certificate_leaves_the_system_store(monkeypatch, tmp_path):
    env = inject("credential_type_ad_bind.yml", dict(server="dc1", bind_dn="a", bind_password="b"), tmp_path)
    assert env["SYNCFIX_AD_CA_PATH"] == ""
    assert module({}, ("ad",), monkeypatch, env=env).params["ldap_ca_path"] is None


@pytest.mark.parametrize("inputs,method", [
    (dict(client_secret="s3cret"), "client_secret"),
    (dict(certificate="-----BEGIN PRIVATE KEY-----", certificate_password="pw"), "certificate"),
])
def test_the_entra_app_credential_type_signs_in_with_a_secret_or_a_certificate(monkeypatch, tmp_path, inputs, method):
    from ansible_collections.syncfix.entra.plugins.module_utils._graph import auth as graph_auth

    env = inject("credential_type_entra_app.yml", dict(tenant_id="contoso.onmicrosoft.com", client_id="app",
                                                       graph_endpoint="https://graph.microsoft.us", **inputs), tmp_path)
    params = module({}, ("graph",), monkeypatch, env=env).params
    assert (params["tenant_id"], params["client_id"], params["graph_endpoint"]) == (
        "contoso.onmicrosoft.com", "app", "https://graph.microsoft.us")
    assert params["authority_host"] is None
    assert graph_auth.choose_auth_method(params) == method


def test_every_variable_the_types_inject_is_one_a_module_reads():
    spec = _module_base.graph_connection_spec().merge(_module_base.ad_connection_spec()).argument_spec
    read = set(name for option in spec.values() if option.get("fallback") for name in option["fallback"][1])
    for name in ("credential_type_ad_bind.yml", "credential_type_entra_app.yml"):
        injected = set(yaml.safe_load((AWX_TYPES / name).read_text())["injectors"]["env"])
        assert injected <= read, injected - read


LAB_APP = dict(tenant_id="t", client_id="c", client_secret="s")


@pytest.mark.parametrize("args,env", [
    (dict(LAB_APP, authority_host="https://127.0.0.1:9443"), {}),
    (dict(LAB_APP), {"AZURE_AUTHORITY_HOST": "https://sts.attacker.example"}),
    (dict(LAB_APP, authority_host="https://127.0.0.1:9443"), {"SYNCFIX_ALLOW_CUSTOM_AUTHORITY": ""}),  # AWX's blank
])
def test_a_custom_authority_fails_the_task_before_the_graph_client_is_made(monkeypatch, args, env):
    with pytest.raises(Failed) as raised:
        module(args, ("graph",), monkeypatch, env=env).graph  # pylint: disable=expression-not-assigned
    assert "is not a Microsoft sign-in authority" in str(raised.value)
    assert "allow_custom_authority=true" in str(raised.value)


@pytest.mark.parametrize("args,env", [
    (dict(LAB_APP, authority_host="https://127.0.0.1:9443", allow_custom_authority=True), {}),
    (dict(LAB_APP, authority_host="https://127.0.0.1:9443"), {"SYNCFIX_ALLOW_CUSTOM_AUTHORITY": "true"}),
    (dict(LAB_APP, authority_host="https://login.microsoftonline.us"), {}),
    (dict(access_token="tok", authority_host="https://127.0.0.1:9443"), {}),  # no credential goes there
])
def test_the_opt_in_or_a_microsoft_authority_makes_the_graph_client(monkeypatch, args, env):
    base = module(args, ("graph",), monkeypatch, env=env)
    assert base.graph is not None, "made without any request: the credential asks for a token on first use"
    assert base.params["authority_host"] == args["authority_host"]


def test_referrals_and_referral_hosts_reach_the_ldap_connection(monkeypatch):
    made = ldap_connection(dict(server=["dc1.contoso.com"], bind_dn="a", bind_password="b", referrals=True,
                                referral_hosts=["dc1.emea.contoso.com"]), monkeypatch)
    assert (made["referrals"], made["referral_hosts"]) == (True, ["dc1.emea.contoso.com"])
    made = ldap_connection(dict(server=["dc1.contoso.com"], bind_dn="a", bind_password="b"), monkeypatch)
    assert (made["referrals"], made["referral_hosts"]) == (False, []), "off, and no host beyond server, by default"

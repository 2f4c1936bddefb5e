import collections

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._graph import auth as graph_auth
from ansible_collections.syncfix.entra.plugins.module_utils._graph.auth import (
    AuthError,
    CredentialToken,
    choose_auth_method,
    graph_scope,
    token_provider,
)

APP = {"tenant_id": "t", "client_id": "c", "graph_endpoint": "https://graph.microsoft.com"}


@pytest.mark.parametrize("extra,method", [
    ({"access_token": "x", "client_secret": "s"}, "access_token"),
    ({"client_secret": "s", "client_certificate_path": "/c.pem"}, "client_secret"),
    ({"client_certificate_path": "/c.pem"}, "certificate"),
    ({"federated_token_file": "/token"}, "federated_token"),
    ({"auth_method": "managed_identity"}, "managed_identity"),
    ({"auth_method": "azure_cli"}, "azure_cli"),
])
def test_auto_picks_what_the_options_make_possible(extra, method):
    assert choose_auth_method(dict(APP, **extra)) == method


def test_nothing_given_names_every_way_out():
    with pytest.raises(AuthError) as e:
        choose_auth_method(dict(APP))
    for hint in ("client_secret", "client_certificate_path", "federated_token_file", "access_token",
                 "managed_identity", "azure_cli", "AZURE_"):
        assert hint in str(e.value)


def test_explicit_method_lists_what_is_missing():
    with pytest.raises(AuthError, match="auth_method client_secret needs tenant_id, client_secret"):
        choose_auth_method({"auth_method": "client_secret", "client_id": "c"})


def test_scope_follows_the_endpoint_for_national_clouds_and_the_lab():
    assert graph_scope("https://graph.microsoft.us/") == "https://graph.microsoft.us/.default"


def test_custom_authority_disables_instance_discovery(monkeypatch):
    built = {}

    class FakeSecretCredential:
        def __init__(self, tenant, client, secret, **kwargs):
            built.update(tenant=tenant, client=client, secret=secret, **kwargs)

    monkeypatch.setattr(graph_auth.azure_identity, "ClientSecretCredential", FakeSecretCredential)
    provider = token_provider(dict(APP, client_secret="s", authority_host="https://127.0.0.1:8443",
                                   allow_custom_authority=True), verify="/ca.pem")
    assert built == {"tenant": "t", "client": "c", "secret": "s", "authority": "https://127.0.0.1:8443",
                     "disable_instance_discovery": True, "connection_verify": "/ca.pem", "connection_timeout": 30.0,
                     "read_timeout": 30.0}
    assert provider._scope == "https://graph.microsoft.com/.default"


def test_public_authority_keeps_instance_discovery(monkeypatch):
    built = {}
    monkeypatch.setattr(graph_auth.azure_identity, "ClientSecretCredential",
                        lambda *a, **kwargs: built.update(kwargs))
    token_provider(dict(APP, client_secret="s", authority_host="https://login.microsoftonline.com/"))
    assert "disable_instance_discovery" not in built and "authority" not in built


def test_one_token_per_run_refreshed_only_near_expiry():
    Token = collections.namedtuple("Token", "token expires_on")
    issued = []

    class Credential:
        def get_token(self, scope):
            issued.append(scope)
            return Token("t%d" % len(issued), now[0] + 3600)

    now = [0.0]
    provider = CredentialToken(Credential(), "s/.default", clock=lambda: now[0])
    assert [provider.get() for dummy in range(50)] == ["t1"] * 50
    now[0] = 3600 - graph_auth.TOKEN_REFRESH_MARGIN + 1
    assert provider.get() == "t2"
    assert issued == ["s/.default", "s/.default"]


def test_a_missing_certificate_file_names_the_option(tmp_path):
    with pytest.raises(AuthError) as raised:
        token_provider(dict(APP, client_certificate_path=str(tmp_path / "absent.pem")))
    assert "client_certificate_path %s is not a readable file" % (tmp_path / "absent.pem") in str(raised.value)


def test_a_certificate_file_that_is_not_a_certificate_names_the_option(tmp_path):
    garbage = tmp_path / "app.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(AuthError) as raised:
        token_provider(dict(APP, client_certificate_path=str(garbage)))
    assert "client_certificate_path %s could not be loaded" % garbage in str(raised.value)


class NoCredential:
    """Fails the test if azure-identity is asked to make a credential (and so, later, a token)."""

    def __init__(self, *args, **kwargs):
        raise AssertionError("a credential was made for a refused authority")


@pytest.mark.parametrize("method,extra", [
    ("client_secret", {"client_secret": "s"}),
    ("certificate", {"client_certificate_path": "/c.pem"}),
    ("federated_token", {"federated_token_file": "/token"}),
])
@pytest.mark.parametrize("authority", [
    "https://127.0.0.1:8443", "login.attacker.example", "https://login.microsoftonline.com.attacker.example",
    "https://login.microsoftonline.com:8443", "https://login.microsoftonline.com/attacker",
    "https://login.microsoftonline.de",  # Microsoft Cloud Germany, closed in 2021
])
def test_a_custom_authority_is_refused_before_any_credential_without_the_opt_in(monkeypatch, method, extra, authority):
    for name in ("ClientSecretCredential", "CertificateCredential", "WorkloadIdentityCredential"):
        monkeypatch.setattr(graph_auth.azure_identity, name, NoCredential)
    monkeypatch.setattr(graph_auth.os.path, "isfile", lambda path: True)
    monkeypatch.setattr(graph_auth.os, "access", lambda path, mode: True)
    with pytest.raises(graph_auth.CustomAuthorityRefused) as raised:
        token_provider(dict(APP, authority_host=authority, **extra))
    message = str(raised.value)
    assert "authority_host %s is not a Microsoft sign-in authority" % authority in message
    for named in ("https://login.microsoftonline.com", "https://login.chinacloudapi.cn",
                  "https://login.microsoftonline.us", "allow_custom_authority=true", "SYNCFIX_ALLOW_CUSTOM_AUTHORITY"):
        assert named in message
    assert isinstance(raised.value, graph_auth.InputError)


@pytest.mark.parametrize("authority", [
    "https://login.microsoftonline.com", "https://login.microsoftonline.us/", "login.chinacloudapi.cn",
    "https://LOGIN.microsoftonline.us:443",
])
def test_microsoft_authorities_need_no_opt_in(monkeypatch, authority):
    built = {}
    monkeypatch.setattr(graph_auth.azure_identity, "ClientSecretCredential", lambda *a, **kwargs: built.update(kwargs))
    token_provider(dict(APP, client_secret="s", authority_host=authority))
    assert built["connection_verify"] is True


@pytest.mark.parametrize("method", ["managed_identity", "azure_cli"])
def test_credentials_that_never_reach_the_authority_are_not_refused(monkeypatch, method):
    made = []
    monkeypatch.setattr(graph_auth.azure_identity, "ManagedIdentityCredential", lambda **kwargs: made.append(method))
    monkeypatch.setattr(graph_auth.azure_identity, "AzureCliCredential", lambda **kwargs: made.append(method))
    token_provider(dict(APP, auth_method=method, authority_host="https://127.0.0.1:8443"))
    assert made == [method]

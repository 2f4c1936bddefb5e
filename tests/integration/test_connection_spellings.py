"""A task written for microsoft.ad or community.general's LDAP modules, or fed by AWX's Azure
credential, runs unchanged against the lab: the other collections' option names and values
bind to the Samba DC (LDAPS, StartTLS, certificate checks) and reach the Graph emulator."""

import uuid

import pytest

import entra_tenant
import lab_fixtures


def make_user(ldap_admin, ou):
    name = "spell-%s" % uuid.uuid4().hex[:6]
    dn = "CN=%s,%s" % (name, ou)
    ldap_admin.add(dn, ["top", "person", "organizationalPerson", "user"],
                   {"sAMAccountName": name, "userPrincipalName": "%s@contoso.com" % name})
    assert ldap_admin.result["description"] == "success", ldap_admin.result
    return dn


def scope_task(dn, **connection):
    """A check-mode-safe AD task: would take the user out of the sync scope."""
    return {"syncfix.entra.ad_sync_scope": dict(connection, objects=[{"object": dn, "state": "excluded"}])}


def test_microsoft_ad_spellings_bind_over_ldaps_and_start_tls(samba, ldap_admin, ou, playbook):
    dn = make_user(ldap_admin, ou)
    microsoft_ad = dict(username=samba["bind_dn"], password=samba["bind_password"], ca_cert=samba["ldap_ca_path"],
                        cert_validation="always", auth_protocol="simple")
    rc, (ldaps, start_tls) = playbook([
        scope_task(dn, server=["%s:%d" % (samba["ldap_server"], samba["ldaps_port"])], tls_mode="ldaps", **microsoft_ad),
        scope_task(dn, server=[samba["ldap_server"]], port=samba["ldap_port"], tls_mode="start_tls", **microsoft_ad),
    ], check=True)
    for result in (ldaps, start_tls):
        assert not result.get("failed") and result["changed"] is True, result.get("msg")
        assert result["results"][0]["msg"].startswith("would "), result["results"][0]


def test_community_general_spellings_bind(samba, ldap_admin, ou, playbook):
    dn = make_user(ldap_admin, ou)
    rc, (result,) = playbook([scope_task(
        dn, server_uri=["ldaps://%s:%d" % (samba["ldap_server"], samba["ldaps_port"])], bind_dn=samba["bind_dn"],
        bind_pw=samba["bind_password"], ca_cert=samba["ldap_ca_path"])], check=True)
    assert not result.get("failed") and result["changed"] is True, result.get("msg")


def test_ignore_hostname_checks_the_chain_but_not_the_name(samba, ldap_admin, ou, playbook):
    other = lab_fixtures.another_name_for_the_dc(samba)
    if other is None:
        pytest.skip("this machine's host name does not resolve to %s" % samba["ldap_server"])
    dn = make_user(ldap_admin, ou)
    base = dict(server=["%s:%d" % (other, samba["ldaps_port"])], bind_dn=samba["bind_dn"],
                bind_password=samba["bind_password"])
    rc, (always, by_name, untrusted) = playbook([
        scope_task(dn, ca_cert=samba["ldap_ca_path"], cert_validation="always", **base),
        scope_task(dn, ca_cert=samba["ldap_ca_path"], cert_validation="ignore_hostname", **base),
        scope_task(dn, cert_validation="ignore_hostname", **base),  # the system store does not know the lab CA
    ], check=True)
    assert always["failed"] is True and "does not name this host" in always["msg"], always["msg"]
    assert not by_name.get("failed") and by_name["changed"] is True, by_name.get("msg")
    assert any("ignore_hostname" in w for w in by_name.get("warnings", [])), by_name
    assert untrusted["failed"] is True and "not trusted" in untrusted["msg"], untrusted["msg"]


def test_awx_azure_credential_environment_reaches_graph(graph_lab, playbook):
    """AWX's Azure Resource Manager credential sets AZURE_TENANT, AZURE_CLIENT_ID and
    AZURE_SECRET; the Entra modules sign in with them and no option at all."""
    graph_lab.load(entra_tenant.tenant())
    facts = graph_lab.facts
    env = {"AZURE_TENANT": facts["tenant_id"], "AZURE_CLIENT_ID": facts["client_id"],
           "AZURE_SECRET": facts["client_secret"], "AZURE_AUTHORITY_HOST": facts["authority_host"],
           "SYNCFIX_GRAPH_ENDPOINT": facts["graph_endpoint"], "SYNCFIX_GRAPH_CA_PATH": facts["ca_path"],
           # The emulator is no Microsoft authority: the credential goes to it only when allowed.
           "SYNCFIX_ALLOW_CUSTOM_AUTHORITY": "true"}
    rc, (result,) = playbook([{"syncfix.entra.entra_user_info": {"users": ["vp@contoso.com"]}}], env=env)
    assert not result.get("failed"), result.get("msg")
    assert result["users"][0]["found"] is True and result["users"][0]["id"], result["users"]

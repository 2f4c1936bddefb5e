"""Each Graph module runs with exactly the application permissions its documentation lists, and
a permission it says it needs is really needed: the emulator grants an app only what its
registration holds and answers 403 otherwise, as Graph does.  The sets are read from the
modules' own DOCUMENTATION notes, so the documentation and this test can't drift apart."""

import ast
import pathlib
import re
import uuid

import yaml

import entra_tenant as t
import lab_fixtures
from test_ad_modules import connection_args

REPO = pathlib.Path(__file__).resolve().parents[2]
PERMISSION = re.compile(r"C\(([A-Z][\w-]*(?:\.[A-Z][\w-]*)+)\)")


def documented(module):
    """``(base, extra)``: the permissions of the note "Graph application permissions: ..." and of
    the note "Graph application permissions, with <option> also: ..." (empty when none)."""
    source = (REPO / "plugins" / "modules" / ("%s.py" % module)).read_text()
    (text,) = [node.value.value for node in ast.parse(source).body
               if isinstance(node, ast.Assign) and node.targets[0].id == "DOCUMENTATION"]
    notes = [n for n in yaml.safe_load(text).get("notes", []) if n.startswith("Graph application permissions")]
    base = [p for n in notes if n.startswith("Graph application permissions:") for p in PERMISSION.findall(n)]
    extra = [p for n in notes if n.startswith("Graph application permissions,") for p in PERMISSION.findall(n)]
    return list(dict.fromkeys(base)), list(dict.fromkeys(extra))


def with_apps(graph_lab, tenant, grants):
    """Load ``tenant`` with one app per named grant; returns ``{name: module auth options}``."""
    apps, auth = [], {}
    for name, permissions in grants.items():
        client_id, secret = str(uuid.uuid4()), "secret-%s" % uuid.uuid4().hex
        apps.append({"clientId": client_id, "clientSecret": secret, "permissions": sorted(permissions)})
        auth[name] = dict(graph_lab.auth, client_id=client_id, client_secret=secret)
    graph_lab.load(dict(tenant, apps=apps))
    return auth


def test_the_documented_sets_are_there():
    for module in ("entra_immutable_id", "entra_user_purge", "entra_user_info", "link_plan"):
        assert documented(module)[0], module
    assert documented("entra_user_purge")[1] == ["User.DeleteRestore.All"]
    assert documented("adsync_cycle") == ([], ["Synchronization.ReadWrite.All"])


def test_entra_immutable_id_with_exactly_its_permissions(graph_lab, playbook):
    base, dummy = documented("entra_immutable_id")
    grants = {"exact": base}
    grants.update(("without %s" % p, [q for q in base if q != p]) for p in base)
    auth = with_apps(graph_lab, t.tenant(), grants)
    module = "syncfix.entra.entra_immutable_id"
    rc, results = playbook([{module: dict(auth["exact"], user="vp@contoso.com", object_guid=t.NEW_HIRE_GUID)}] + [
        {module: dict(auth["without %s" % p], user="plain@contoso.com", immutable_id=t.OTHER)} for p in base])
    exact, missing = results[0], dict(zip(base, results[1:]))
    assert exact["changed"] is True and not exact.get("failed") and not exact.get("warnings"), exact
    for permission, result in missing.items():
        if permission == "OnPremDirectorySynchronization.Read.All":
            # the sync features are a warning's matter, not a refusal's
            assert result["changed"] is True and "OnPremDirSynchronization" not in str(result.get("msg")), result
            assert any("OnPremDirectorySynchronization.Read.All" in w for w in result.get("warnings", [])), result
        else:
            assert result["failed"] is True and "403" in result["msg"], (permission, result)


def test_entra_user_purge_with_exactly_its_permissions(graph_lab, playbook, tmp_path):
    base, extra = documented("entra_user_purge")
    grants = {"base": base, "base and extra": base + extra}
    grants.update(("without %s" % p, [q for q in base + extra if q != p]) for p in base + extra)
    auth = with_apps(graph_lab, t.tenant(), grants)
    module = "syncfix.entra.entra_user_purge"
    backup = str(tmp_path / "backups")
    rc, results = playbook(
        [{module: dict(auth["base"], user="plain@contoso.com", state="deleted", backup_dir=backup)},
         {module: dict(auth["base and extra"], user="binned@contoso.com", state="purged", backup_dir=backup)}]
        + [{module: dict(auth["without %s" % p], user="plain@contoso.com", state="purged", backup_dir=backup)}
           for p in base + extra])
    deleted, purged = results[:2]
    assert deleted["changed"] is True and not deleted.get("failed"), deleted
    assert purged["changed"] is True and purged["results"][0]["after"] == "gone", purged
    for permission, result in zip(base + extra, results[2:]):
        assert result["failed"] is True and "403" in str(result), (permission, result)
    assert graph_lab.users()["plain@contoso.com"].get("deletedDateTime"), "still in the recycle bin: not purged"


def test_entra_user_info_with_exactly_its_permissions(graph_lab, playbook):
    base, dummy = documented("entra_user_info")
    auth = with_apps(graph_lab, t.tenant(), {"exact": base, "users only": ["User.Read.All"]})
    module = "syncfix.entra.entra_user_info"
    rc, (full, users_only) = playbook([
        {module: dict(auth["exact"], users=["admin@contoso.com", "vp@contoso.com"])},
        {module: dict(auth["users only"], users=["vp@contoso.com"], details=["licenses"])}])
    assert not full.get("failed") and not users_only.get("failed"), (full, users_only)
    assert [u.get("roles") for u in full["users"]][0], full


def test_adsync_cycle_cloud_sync_with_exactly_its_permissions(samba, graph_lab, ou, playbook):
    dummy, extra = documented("adsync_cycle")
    auth = with_apps(graph_lab, t.tenant(), {"exact": extra})
    graph_lab.lab("PUT", "/ad", json=dict(samba, scope=[ou]))
    graph_lab.lab("PATCH", "/config", json={"time_scale": 0.01})  # the PT2M schedule in 1.2 s (reset by the next load)
    (service_principal,) = graph_lab.lab("GET", "/state")["servicePrincipals"]
    rc, (result,) = playbook([{"syncfix.entra.adsync_cycle": dict(
        auth["exact"], engine="cloud_sync", service_principal_id=service_principal["id"],
        job_id=service_principal["synchronization"]["jobs"][0]["id"], timeout=60, poll_interval=1)}])
    assert not result.get("failed"), result


def test_link_plan_with_exactly_its_permissions(samba, graph_lab, ldap_admin, ou, playbook):
    from test_ad_modules import make_user

    name = "lp-%s" % uuid.uuid4().hex[:6]
    make_user(ldap_admin, ou, name, ["SMTP:%s@contoso.com" % name], mail="%s@contoso.com" % name)
    base, dummy = documented("link_plan")
    auth = with_apps(graph_lab, t.tenant(), {"exact": base})
    args = dict(connection_args(samba, links=[{"ad": name}]), **auth["exact"])
    args["graph_ca_path"], args["ldap_ca_path"] = args.pop("ca_path"), samba["ldap_ca_path"]
    rc, (result,) = playbook([{"syncfix.entra.link_plan": args}])
    assert not result.get("failed") and result["links"][0]["state"] == "pending", result
    assert not result.get("warnings"), result


# -- AD: a delegated bind account with exactly the documented rights ---------------------------

USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"  # schemaIDGUID of the user class
AD_RIGHTS = {  # the Write Property rights each module's notes name, by attribute
    "syncfix.entra.ad_source_anchor": ["mS-DS-ConsistencyGuid"],
    "syncfix.entra.ad_proxy_addresses": ["proxyAddresses", "mail"],
    "syncfix.entra.ad_sync_scope": ["adminDescription"],
}


def schema_guid(ldap_admin, base_dn, attribute):
    ldap_admin.search("CN=Schema,CN=Configuration," + base_dn, "(lDAPDisplayName=%s)" % attribute,
                      attributes=["schemaIDGUID"])
    return str(uuid.UUID(bytes_le=ldap_admin.entries[0].schemaIDGUID.value))


def delegate(samba, ldap_admin, ou, attributes):
    """A new enabled user allowed to write ``attributes`` of the users below ``ou``, and nothing
    else beyond what every authenticated user may do; returns its bind options."""
    import subprocess

    from ldap3.extend.microsoft.modifyPassword import ad_modify_password

    name = "dlg-%s" % uuid.uuid4().hex[:8]
    dn, password = "CN=%s,%s" % (name, ou), "Pa55-%s!" % uuid.uuid4().hex
    ldap_admin.add(dn, ["top", "person", "organizationalPerson", "user"],
                   {"sAMAccountName": name, "userPrincipalName": "%s@contoso.com" % name})
    assert ad_modify_password(ldap_admin, dn, password, None)
    ldap_admin.modify(dn, {"userAccountControl": [("MODIFY_REPLACE", [512])]})
    ldap_admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["objectSid"])
    sid = ldap_admin.entries[0].objectSid.value
    aces = "".join("(OA;CI;WP;%s;%s;%s)" % (schema_guid(ldap_admin, samba["base_dn"], a), USER_CLASS, sid)
                   for a in attributes)
    dc = lab_fixtures.STATE_DIR / "samba" / "dc"
    done = subprocess.run(["samba-tool", "dsacl", "set", "-s", str(dc / "etc" / "smb.conf"),
                           "-H", str(dc / "private" / "sam.ldb"), "--objectdn=%s" % ou, "--sddl=%s" % aces],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return dict(bind_dn=dn, bind_password=password)


def test_ad_modules_with_exactly_their_documented_rights(samba, ldap_admin, ou, playbook):
    from test_ad_modules import make_user

    target = "tgt-%s" % uuid.uuid4().hex[:6]
    make_user(ldap_admin, ou, target, ["SMTP:%s@contoso.com" % target], mail="%s@contoso.com" % target)
    binds = dict((module, delegate(samba, ldap_admin, ou, rights)) for module, rights in AD_RIGHTS.items())
    items = {"syncfix.entra.ad_source_anchor": dict(object=target, consistency_guid=str(uuid.uuid4())),
             "syncfix.entra.ad_proxy_addresses": dict(object=target, primary="%s.x@contoso.com" % target),
             "syncfix.entra.ad_sync_scope": dict(object=target, state="excluded")}
    allowed = [{module: dict(connection_args(samba, **binds[module]), **items[module])} for module in AD_RIGHTS]
    # each delegate tried on the next module's write: refused by the DC, named as such
    modules = list(AD_RIGHTS)
    crossed = [{modules[(i + 1) % 3]: dict(connection_args(samba, **binds[module]), **items[modules[(i + 1) % 3]])}
               for i, module in enumerate(modules)]
    rc, results = playbook(crossed + allowed)
    for task, result in zip(crossed, results[:3]):
        assert result["failed"] is True and "insufficientAccessRights" in str(result), (task, result)
    for module, result in zip(AD_RIGHTS, results[3:]):
        assert result["changed"] is True and not result.get("failed"), (module, result)

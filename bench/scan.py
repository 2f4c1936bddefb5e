"""sync_conflicts_info over 20,000 AD objects and a tenant of the same size, against Samba's raw
paged-search rate measured in the same run.

Runs against the lab's Samba DC (started under a lease when it is not up) and a private Graph
emulator (its own state folder and port).  Generates N AD objects (mostly users, some contacts
and groups) with a sprinkle of planted problems (duplicate proxy addresses, no or several
primary addresses, .local UPNs, bad characters, duplicate anchors), adds them to a throwaway OU
over LDAPS (several connections side by side), and loads a tenant of N cloud objects in one
``POST /_lab/reset`` (synced users with matching and orphaned anchors, cloud-only users holding
AD addresses, resiliency placeholders with their provisioning errors, soft-deleted users, a
cloud group holding an AD user's address, an admin a soft match would hit).  Then measures:

  (a) Samba's raw paged-search rate: an ldap3 paged search over the OU with the scan's filter
      and attributes, entries thrown away;
  (b) the AD side of the scan alone: ldap_client.DirectoryConnection.search + _scan_ad.ADScan;
  (c) the whole scan through ansible-playbook (the module on this checkout as the collection),
      both sides, all four reports: wall time, module time, objects/s, Graph requests, LDAP
      searches, the module process's peak RSS.

Prints one table and writes bench/results/<date>-scan-<N>.json.  Nothing about time is
asserted; the exit status is 1 when the scan failed or missed a planted problem.

    python bench/scan.py [--objects 20000] [--connections 4] [--profile]
"""

import argparse
import base64
import concurrent.futures
import cProfile
import datetime
import io
import json
import os
import pathlib
import pstats
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

import httpx
import ldap3
import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab import checkout_collection, emulator_process, samba_dc  # noqa: E402

sys.path.insert(0, str(checkout_collection.collections_root()))

from ansible_collections.syncfix.entra.plugins.module_utils._scan import ad as _scan_ad  # noqa: E402
from ansible_collections.syncfix.entra.plugins.module_utils._ldap import client as ldap_client  # noqa: E402

MODULE = "syncfix.entra.sync_conflicts_info"
RESULTS = REPO / "bench" / "results"
UAC_ENABLED = 544  # NORMAL_ACCOUNT + PASSWD_NOTREQD: lab users have no password
RECENTLY = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")

# One in every so many users carries a planted problem (a user carries at most one).
EVERY = {"duplicate_address": 50, "primary_smtp_missing": 97, "primary_smtp_several": 101,
         "idfix_topleveldomain": 89, "idfix_character": 83, "duplicate_anchor": 71, "upn_suffix_unverified": 113}
# One in every so many AD users meets its cloud side in an unusual shape.
CLOUD_EVERY = {"preprovisioned": 61, "placeholder": 67, "deleted": 73, "orphan": 59, "group_holder": 997}


# -- waiting for the DC ------------------------------------------------------------------------

# -- the generated directory -------------------------------------------------------------------

def anchor_guid(tag, n):
    return uuid.uuid5(uuid.NAMESPACE_OID, "bench-scan/%s/%d" % (tag, n))


def immutable_id(guid):
    return base64.b64encode(guid.bytes_le).decode()


def plan_ad(count, tag, ou):
    """[(dn, object classes, attributes)], and {rule: how many objects carry it} for the users."""
    users = count * 90 // 100
    contacts = (count - users) // 2
    planted = dict((rule, 0) for rule in EVERY)
    troubled = set()  # the users a planted problem involves
    objects = []
    for i in range(users):
        name = "u%05d-%s" % (i, tag)
        primary, alias = "%s@contoso.com" % name, "%s.alias@contoso.com" % name
        upn, nickname = primary, name
        proxies = ["SMTP:" + primary, "smtp:" + alias]
        guid = anchor_guid(tag, i)
        if i % EVERY["duplicate_address"] == 1:
            proxies[1] = "smtp:u%05d-%s.alias@contoso.com" % (i - 1, tag)  # the previous user's alias
            planted["duplicate_address"] += 1
            troubled.update((i - 1, i))
        elif i % EVERY["primary_smtp_missing"] == 2:
            proxies[0] = "smtp:" + primary
            planted["primary_smtp_missing"] += 1
            troubled.add(i)
        elif i % EVERY["primary_smtp_several"] == 3:
            proxies[1] = "SMTP:" + alias
            planted["primary_smtp_several"] += 1
            troubled.add(i)
        elif i % EVERY["idfix_topleveldomain"] == 4:
            upn = "%s@contoso.local" % name  # non-routable
            planted["idfix_topleveldomain"] += 1
            troubled.add(i)
        elif i % EVERY["idfix_character"] == 5:
            nickname = "%s bad(char)" % name
            planted["idfix_character"] += 1
            troubled.add(i)
        elif i % EVERY["duplicate_anchor"] == 6 and i > 0:
            guid = anchor_guid(tag, i - 1)  # the previous user's anchor
            planted["duplicate_anchor"] += 1
            troubled.update((i - 1, i))
        elif i % EVERY["upn_suffix_unverified"] == 12:
            upn = "%s@fabrikam.com" % name  # a domain the tenant has not verified
            planted["upn_suffix_unverified"] += 1
            troubled.add(i)
        attributes = {"sAMAccountName": "u%05d%s" % (i, tag), "userAccountControl": UAC_ENABLED,
                      "userPrincipalName": upn, "mail": primary, "mailNickname": nickname,
                      "displayName": "User %05d" % i, "proxyAddresses": proxies, "mS-DS-ConsistencyGuid": guid.bytes_le}
        objects.append(("CN=%s,%s" % (name, ou), ["top", "person", "organizationalPerson", "user"], attributes))
    for i in range(contacts):
        name = "c%05d-%s" % (i, tag)
        objects.append(("CN=%s,%s" % (name, ou), ["top", "person", "organizationalPerson", "contact"],
                        {"mail": "%s@contoso.com" % name, "displayName": "Contact %05d" % i,
                         "proxyAddresses": ["SMTP:%s@contoso.com" % name]}))
    for i in range(count - users - contacts):
        name = "g%05d-%s" % (i, tag)
        objects.append(("CN=%s,%s" % (name, ou), ["top", "group"],
                        {"sAMAccountName": "g%05d%s" % (i, tag), "displayName": "Group %05d" % i, "mail": "%s@contoso.com" % name,
                         "proxyAddresses": ["SMTP:%s@contoso.com" % name]}))
    return objects, planted, users, troubled


def plan_tenant(count, tag, ad_users, troubled):
    """A tenant of ``count`` objects: users first, groups and soft-deleted users among them."""
    users, groups, planted = [], [], dict((rule, 0) for rule in (
        "preprovisioned_cloud_user", "resiliency_placeholder", "recycle_bin_holder", "orphaned_anchor",
        "object_type_mismatch", "admin_role_match"))
    for i in range(min(ad_users, count)):
        name = "u%05d-%s" % (i, tag)
        primary = "%s@contoso.com" % name
        if i in troubled:
            # Users with a planted AD problem stay out of the cloud (never synced), so the cloud
            # rules below meet clean AD users only.
            continue
        if i % CLOUD_EVERY["preprovisioned"] == 7 and planted["admin_role_match"] == 0:
            # A Global Administrator whose mailbox the AD user's primary address soft-matches.
            users.append({"userPrincipalName": "cloud.%s@contoso.com" % name, "mail": primary, "mailbox": True,
                          "proxyAddresses": ["SMTP:" + primary], "roles": [{"name": "Global Administrator"}]})
            planted["admin_role_match"] += 1
        elif i % CLOUD_EVERY["preprovisioned"] == 7:
            # A cloud-only mailbox holding the AD user's alias: no soft match, a duplicate.
            alias = "%s.alias@contoso.com" % name
            users.append({"userPrincipalName": "cloud.%s@contoso.com" % name, "mail": alias,
                          "proxyAddresses": ["SMTP:" + alias], "mailbox": True})
            planted["preprovisioned_cloud_user"] += 1
        elif i % CLOUD_EVERY["placeholder"] == 8:
            # The sync met a cloud-only user holding the UPN and created a placeholder.
            users.append({"userPrincipalName": primary, "displayName": "Cloud %s" % name})
            users.append({"userPrincipalName": "%s%04d@contoso.onmicrosoft.com" % (name, i % 10000),
                          "onPremisesSyncEnabled": True, "onPremisesImmutableId": immutable_id(anchor_guid(tag, i)),
                          "onPremisesProvisioningErrors": [{
                              "category": "PropertyConflict", "propertyCausingError": "UserPrincipalName",
                              "value": primary, "occurredDateTime": RECENTLY}]})
            planted["resiliency_placeholder"] += 1
        elif i % CLOUD_EVERY["deleted"] == 9:
            users.append({"userPrincipalName": "old.%s@contoso.com" % name, "mail": primary, "mailbox": True,
                          "proxyAddresses": ["SMTP:" + primary], "deletedDateTime": RECENTLY})
            planted["recycle_bin_holder"] += 1
        elif i % CLOUD_EVERY["group_holder"] == 10:
            groups.append({"displayName": "Cloud group %s" % name, "mail": primary, "proxyAddresses": ["SMTP:" + primary]})
            planted["object_type_mismatch"] += 1
        else:
            orphan = i % CLOUD_EVERY["orphan"] == 11
            users.append({"userPrincipalName": primary, "mail": primary, "proxyAddresses": ["SMTP:" + primary],
                          "mailbox": True, "onPremisesSyncEnabled": True,
                          "onPremisesImmutableId": immutable_id(uuid.uuid4() if orphan else anchor_guid(tag, i)),
                          "onPremisesSamAccountName": "u%05d%s" % (i, tag)})
            planted["orphaned_anchor"] += orphan
    i = 0
    while len(users) + len(groups) < count:
        users.append({"userPrincipalName": "cloudonly%05d-%s@contoso.com" % (i, tag)})
        i += 1
    state = {"domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": "contoso.com", "isDefault": True}],
             "users": users, "groups": groups}
    return state, planted


def connect(facts):
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=facts["ldap_ca_path"])
    server = ldap3.Server(facts["ldap_server"], port=facts["ldaps_port"], use_ssl=True, tls=tls, get_info=ldap3.NONE)
    return ldap3.Connection(server, facts["bind_dn"], facts["bind_password"], auto_bind=True)


def add_all(facts, objects, connections):
    """Every object added over ``connections`` LDAPS connections side by side (Samba's workers
    take them in parallel); raises on the first refused add."""
    def worker(part):
        conn = connect(facts)
        try:
            for dn, classes, attributes in part:
                if not conn.add(dn, classes, attributes):
                    raise RuntimeError("add %s refused: %s" % (dn, conn.result))
        finally:
            conn.unbind()
    # Users first in each part, so an OU is never asked for a group before its users exist.
    parts = [objects[k::connections] for k in range(connections)]
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        for done in pool.map(worker, parts):
            pass


# -- the three measurements --------------------------------------------------------------------

def raw_search(facts, ou):
    """Samba's paged-search rate with the scan's filter and attributes, entries dropped."""
    conn = connect(facts)
    try:
        started = time.perf_counter()
        entries = 0
        for entry in conn.extend.standard.paged_search(ou, _scan_ad.SEARCH_FILTER, attributes=_scan_ad.ATTRIBUTES,
                                                       paged_size=ldap_client.PAGE_SIZE, generator=True):
            if entry.get("type") == "searchResEntry":
                entries += 1
        return entries, time.perf_counter() - started
    finally:
        conn.unbind()


def ad_scan(facts, ou, domains, profile=False):
    """The AD side of the scan alone: the module's connection and search, ADScan over every entry."""
    directory = ldap_client.DirectoryConnection(["%s:%d" % (facts["ldap_server"], facts["ldaps_port"])],
                                                bind_dn=facts["bind_dn"], bind_password=facts["bind_password"],
                                                ca_path=facts["ldap_ca_path"]).connect()
    profiler = cProfile.Profile() if profile else None
    try:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        scan = _scan_ad.ADScan(verified_domains=domains)
        findings = 0
        for entry in directory.search(_scan_ad.SEARCH_FILTER, _scan_ad.ATTRIBUTES, base=ou):
            findings += len(scan.add(entry))
        findings += len(scan.finish())
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    finally:
        directory.close()
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
    return scan.counts["read"], findings, directory.stats["searches"], elapsed


INTERPRETER = """#!%(python)s
# Runs each module under this venv's Python and records its wall time and peak RSS.
import resource, subprocess, sys, time
started = time.perf_counter()
rc = subprocess.call([%(python)r] + sys.argv[1:])
with open(%(log)r, "a") as log:
    log.write("%%s %%.3f %%d\\n" %% (sys.argv[-1].rsplit("/", 1)[-1], time.perf_counter() - started,
                                    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)
"""


def whole_scan(task, workdir):
    """ansible-playbook with the task; (wall seconds, result, module seconds, module peak RSS in KiB)."""
    workdir = pathlib.Path(workdir)
    play, out, log = workdir / "play.yml", workdir / "result.json", workdir / "modules.log"
    wrapper = workdir / "python-measured"
    wrapper.write_text(INTERPRETER % {"python": sys.executable, "log": str(log)})
    wrapper.chmod(0o700)
    tasks = [dict(task, register="result"), {"ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(out)}}]
    play.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    # The implicit localhost takes the controller's Python unless the play's variables say otherwise.
    started = time.perf_counter()
    done = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), str(play),
                           "-e", "ansible_python_interpreter=%s" % wrapper], env=checkout_collection.ansible_env(),
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode or not out.exists():
        print("the scan failed:\n%s\n%s" % (done.stdout[-3000:], done.stderr[-3000:]))
        return elapsed, None, None, None
    module_time, module_rss = None, None
    for line in log.read_text().splitlines() if log.exists() else []:
        name, seconds, rss = line.rsplit(" ", 2)
        if "sync_conflicts_info" in name or module_time is None:
            module_time, module_rss = float(seconds), int(rss)
    return elapsed, json.loads(out.read_text()), module_time, module_rss


class Emulator:
    def __init__(self, state_dir):
        self.facts = emulator_process.start(state_dir)
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=self.facts["ca_path"]), timeout=600)

    def lab(self, method, path, **kwargs):
        answer = self.http.request(method, self.facts["graph_endpoint"] + "/_lab" + path, **kwargs)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def http_requests(self):
        log = self.lab("GET", "/requests")["value"]
        return (len([e for e in log if not e.get("batch_item") and not e["path"].endswith("/token")]),
                len([e for e in log if e["status"] == 429]))

    @property
    def auth(self):
        return dict({k: self.facts[k] for k in ("tenant_id", "client_id", "client_secret", "graph_endpoint",
                                                "authority_host")}, allow_custom_authority=True)


# -- the bench ---------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20000, help="AD objects, and cloud objects (default 20000)")
    parser.add_argument("--connections", type=int, default=4, help="LDAPS connections adding the AD objects side by side")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the AD scan (b)")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:4]
    objects, ad_planted, ad_users, troubled = plan_ad(args.objects, tag, "{ou}")
    tenant, cloud_planted = plan_tenant(args.objects, tag, ad_users, troubled)
    cloud_objects = len(tenant["users"]) + len(tenant["groups"])

    def summary():
        """Print the table and write the figures; 1 when the scan failed or missed a planted problem.
        Called before the OU is deleted: a tree delete of 20,000 objects takes Samba minutes."""
        raw_rate, ad_rate = raw_entries / raw_time, ad_read / ad_time
        print()
        print("sync_conflicts_info scan benchmark (lab Samba DC over LDAPS, Graph emulator over HTTPS)")
        print("  %d AD objects (%d users) in one OU, %d cloud objects; planted AD problems %s"
              % (len(objects), ad_users, cloud_objects, ad_planted))
        print("  %-44s %10s %10s %12s" % ("", "objects", "seconds", "objects/s"))
        print("  %-44s %10d %10.2f %12.0f" % ("(a) raw ldap3 paged search (Samba)", raw_entries, raw_time, raw_rate))
        print("  %-44s %10d %10.2f %12.0f" % ("(b) AD side of the scan (search + ADScan)", ad_read, ad_time, ad_rate))
        figures = {
            "date": datetime.date.today().isoformat(), "objects": args.objects, "ad_objects": len(objects), "ad_users": ad_users,
            "cloud_objects": cloud_objects, "planted_ad": ad_planted, "planted_cloud": cloud_planted,
            "load": {"ad_seconds": round(ad_load, 2), "ad_connections": args.connections, "cloud_seconds": round(cloud_load, 2)},
            "raw_search": {"entries": raw_entries, "seconds": round(raw_time, 3), "per_second": round(raw_rate, 1)},
            "ad_scan": {"entries": ad_read, "findings": ad_findings, "ldap_searches": ad_searches, "seconds": round(ad_time, 3),
                        "per_second": round(ad_rate, 1), "ratio_to_raw": round(ad_rate / raw_rate, 3)},
        }
        failed = []
        if result is None or result.get("failed"):
            failed.append("the scan failed" + ("" if result is None else ": %s" % result.get("msg")))
        else:
            counts = result["counts"]
            scanned = counts["ad"].get("objects", 0) + sum(counts["cloud"].get(k, 0) for k in ("users", "groups", "contacts"))
            whole_rate, module_rate = scanned / scan_wall, scanned / module_time if module_time else None
            print("  %-44s %10d %10.2f %12.0f" % ("(c) whole scan, ansible-playbook wall time", scanned, scan_wall, whole_rate))
            if module_time:
                print("  %-44s %10d %10.2f %12.0f" % ("    of which the module process", scanned, module_time, module_rate))
            print("  ratio AD scan / raw search: %.2f; whole scan / raw search: %.2f" % (ad_rate / raw_rate, whole_rate / raw_rate))
            print("  whole scan: %d findings %s; LDAP %s; Graph %s, %d HTTP requests in the emulator's log (%d answered 429); "
                  "module peak RSS %s; reports %s"
                  % (counts["findings"], counts["by_severity"], result.get("ldap_operations"), result.get("graph_requests"),
                     http_requests, throttled, "%.0f MiB" % (module_rss / 1024.0) if module_rss else "unknown",
                     ", ".join("%s %d kB" % (k, v // 1024) for k, v in sorted(report_sizes.items()))))
            print("  findings by rule: %s" % counts["by_rule"])
            figures["whole_scan"] = {
                "objects": scanned, "ad": counts["ad"], "cloud": counts["cloud"], "wall_seconds": round(scan_wall, 2),
                "per_second": round(whole_rate, 1), "ratio_to_raw": round(whole_rate / raw_rate, 3),
                "module_seconds": module_time and round(module_time, 2), "module_per_second": module_rate and round(module_rate, 1),
                "module_peak_rss_kib": module_rss, "findings": counts["findings"], "by_severity": counts["by_severity"],
                "by_rule": counts["by_rule"], "ldap_operations": result.get("ldap_operations"),
                "graph_requests": result.get("graph_requests"), "emulator_http_requests": http_requests,
                "throttled": throttled, "report_bytes": report_sizes}
            found = counts["by_rule"]
            for rule, planted in sorted(list(ad_planted.items()) + list(cloud_planted.items())):
                if planted and found.get(rule, 0) < planted:
                    failed.append("%s: %d planted, %d found" % (rule, planted, found.get(rule, 0)))
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / ("%s-scan-%d.json" % (figures["date"], args.objects))
        path.write_text(json.dumps(figures, indent=2) + "\n")
        print("  figures written to %s" % path.relative_to(REPO))
        if failed:
            print("FAILED: " + "; ".join(failed))
            return 1
        return 0

    samba_dc.install_packages()
    state = pathlib.Path(os.environ.get("LAB_STATE_DIR", REPO / "lab" / ".state"))
    with samba_dc.lease(state) as facts, tempfile.TemporaryDirectory() as workdir:
        emulator = Emulator(pathlib.Path(workdir) / "lab")
        admin = connect(facts)
        ou = "OU=bench-scan-%s,%s" % (tag, facts["base_dn"])
        admin.add(ou, ["top", "organizationalUnit"])
        try:
            started = time.perf_counter()
            add_all(facts, [(dn.format(ou=ou), classes, attributes) for dn, classes, attributes in objects],
                    args.connections)
            ad_load = time.perf_counter() - started
            started = time.perf_counter()
            emulator.lab("POST", "/reset", json=tenant)
            emulator.lab("PATCH", "/config", json={"quota_scale": 1.0, "time_scale": 1.0})
            cloud_load = time.perf_counter() - started
            print("loaded %d AD objects in %.1f s (%d LDAPS connections, %.0f adds/s); %d cloud objects in %.1f s "
                  "(one POST /_lab/reset)" % (len(objects), ad_load, args.connections, len(objects) / ad_load,
                                              cloud_objects, cloud_load), flush=True)

            raw_entries, raw_time = raw_search(facts, ou)
            domains = ["contoso.onmicrosoft.com", "contoso.com"]
            ad_read, ad_findings, ad_searches, ad_time = ad_scan(facts, ou, domains, profile=args.profile)

            emulator.lab("DELETE", "/requests")
            task = {MODULE: dict(emulator.auth, graph_ca_path=emulator.facts["ca_path"],
                                 server=["%s:%d" % (facts["ldap_server"], facts["ldaps_port"])], bind_dn=facts["bind_dn"],
                                 bind_password=facts["bind_password"], ldap_ca_path=facts["ldap_ca_path"],
                                 search_bases=[ou], report_path=str(pathlib.Path(workdir) / "reports"))}
            scan_wall, result, module_time, module_rss = whole_scan(task, workdir)
            http_requests, throttled = emulator.http_requests()
            report_sizes = {}
            if result:
                report_sizes = dict((fmt, os.path.getsize(path)) for fmt, path in result.get("report", {}).items())
            emulator.http.close()
            emulator_process.stop(pathlib.Path(workdir) / "lab")
            code = summary()
        finally:
            emulator.http.close()
            emulator_process.stop(pathlib.Path(workdir) / "lab")  # none left to stop after a clean run
            print("deleting the bench OU %s (Samba takes a while for a large tree)" % ou, flush=True)
            admin.delete(ou, controls=[("1.2.840.113556.1.4.805", True, None)])
            admin.unbind()

    return code


if __name__ == "__main__":
    sys.exit(main())

"""One ad_proxy_addresses task over 1,000 AD objects, against one task per object.

Runs against the lab's Samba DC (started under a lease when it is not up).  Creates the users
in a throwaway OU, then times, with ansible-playbook:
  * one task with ``objects:`` listing all N users (a primary swap each), and its LDAP operations;
  * a ``loop:`` of single-object tasks over M users, extrapolated to N.
Prints both and their ratio.

    python bench/ad_bulk.py [--objects 1000] [--single 100]
"""

import argparse
import json
import os
import pathlib
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

import ldap3
import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab import checkout_collection, samba_dc  # noqa: E402


def connect(facts):
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=facts["ldap_ca_path"])
    server = ldap3.Server(facts["ldap_server"], port=facts["ldaps_port"], use_ssl=True, tls=tls)
    return ldap3.Connection(server, facts["bind_dn"], facts["bind_password"], auto_bind=True)


def run_play(tasks, workdir):
    play = pathlib.Path(workdir) / ("play-%s.yml" % uuid.uuid4().hex[:6])
    out = pathlib.Path(workdir) / "result.json"
    tasks = [dict(tasks[0], register="result")] + [{"ansible.builtin.copy": {
        "content": "{{ result | to_json }}", "dest": str(out)}}]
    play.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(checkout_collection.collections_root()), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    started = time.perf_counter()
    done = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), str(play)], env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit("playbook failed:\n%s\n%s" % (done.stdout[-3000:], done.stderr[-3000:]))
    return elapsed, json.loads(out.read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--single", type=int, default=100)
    args = parser.parse_args()
    samba_dc.install_packages()
    state = pathlib.Path(os.environ.get("LAB_STATE_DIR", REPO / "lab" / ".state"))
    with samba_dc.lease(state) as facts, tempfile.TemporaryDirectory() as workdir:
        admin = connect(facts)
        ou = "OU=bench-%s,%s" % (uuid.uuid4().hex[:8], facts["base_dn"])
        admin.add(ou, ["top", "organizationalUnit"])
        names = ["b%s-%04d" % (uuid.uuid4().hex[:4], i) for i in range(args.objects)]
        started = time.perf_counter()
        for name in names:
            admin.add("CN=%s,%s" % (name, ou), ["top", "person", "organizationalPerson", "user"],
                      {"sAMAccountName": name, "mail": "%s@contoso.com" % name,
                       "proxyAddresses": ["SMTP:%s@contoso.com" % name, "smtp:%s@fabrikam.com" % name]})
        setup = time.perf_counter() - started
        connection = dict(server=["%s:%d" % (facts["ldap_server"], facts["ldaps_port"])], bind_dn=facts["bind_dn"],
                          bind_password=facts["bind_password"], ca_path=facts["ldap_ca_path"])
        try:
            bulk_task = {"syncfix.entra.ad_proxy_addresses": dict(connection, objects=[
                {"object": n, "primary": "%s@fabrikam.com" % n} for n in names])}
            bulk_time, bulk = run_play([bulk_task], workdir)
            changed = sum(1 for r in bulk["results"] if r["changed"])
            again_time, again = run_play([bulk_task], workdir)

            single = names[:args.single]
            loop_task = {"syncfix.entra.ad_proxy_addresses": dict(connection, object="{{ item }}",
                                                                   primary="{{ item }}@contoso.com"),
                         "loop": single}
            single_time, singles = run_play([loop_task], workdir)
        finally:
            admin.delete(ou, controls=[("1.2.840.113556.1.4.805", True, None)])
            admin.unbind()

    per_single = single_time / args.single
    print("ad_proxy_addresses bulk benchmark (lab Samba DC over LDAPS, %d objects created in %.1f s)"
          % (args.objects, setup))
    print("  one task, %d objects: %.1f s, %d changed, LDAP %s" % (args.objects, bulk_time, changed,
                                                                  bulk["ldap_operations"]))
    print("  same task again (idempotent): %.1f s, changed=%s, LDAP %s" % (again_time, again["changed"],
                                                                            again["ldap_operations"]))
    print("  %d single-object tasks (loop): %.1f s, %.2f s each -> %d tasks extrapolated: %.0f s"
          % (args.single, single_time, per_single, args.objects, per_single * args.objects))
    print("  ratio single tasks / one bulk task for %d objects: %.1fx" % (args.objects,
                                                                          per_single * args.objects / bulk_time))


if __name__ == "__main__":
    main()

"""One entra_immutable_id task over 1,000 cloud users, against one task per user.

Runs against a private Graph emulator (its own state folder and port) with Entra's real
quotas for a large tenant. Times, with ansible-playbook:
  * one task with ``users:`` listing all N users, its Graph requests and $batch items;
  * the same task again (nothing to write);
  * a ``loop:`` of single-user tasks over M users, extrapolated to N.
Then the bulk task once more under a scaled quota (quota_scale 0.05, time_scale 0.01: 150 writes
per 1.5 s), to show what honouring 429s costs. Prints every figure and the ratios.

    python bench/entra_bulk.py [--users 1000] [--single 100]
"""

import argparse
import base64
import json
import os
import pathlib
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

import httpx
import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab import checkout_collection, emulator_process  # noqa: E402

MODULE = "syncfix.entra.entra_immutable_id"


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


def anchor(n):
    return base64.b64encode(uuid.UUID("5e1f0000-0000-4000-8000-%012d" % n).bytes_le).decode()


class Emulator:
    def __init__(self, state_dir):
        self.facts = emulator_process.start(state_dir)
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=self.facts["ca_path"]), timeout=60)

    def lab(self, method, path, **kwargs):
        answer = self.http.request(method, self.facts["graph_endpoint"] + "/_lab" + path, **kwargs)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def load(self, count, **settings):
        self.lab("POST", "/reset", json={
            "domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": "contoso.com"}],
            "users": [{"userPrincipalName": "bulk%05d@contoso.com" % n} for n in range(count)]})
        self.lab("PATCH", "/config", json=dict({"quota_scale": 1.0, "time_scale": 1.0}, **settings))

    def http_requests(self):
        log = self.lab("GET", "/requests")["value"]
        return (len([e for e in log if not e.get("batch_item") and not e["path"].endswith("/token")]),
                len([e for e in log if e["status"] == 429]))

    @property
    def auth(self):
        return dict({k: self.facts[k] for k in ("tenant_id", "client_id", "client_secret", "graph_endpoint",
                                                "authority_host", "ca_path")}, allow_custom_authority=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--single", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        emulator = Emulator(pathlib.Path(workdir) / "lab")
        try:
            items = [{"user": "bulk%05d@contoso.com" % n, "immutable_id": anchor(n)} for n in range(args.users)]
            bulk_task = {MODULE: dict(emulator.auth, users=items)}

            emulator.load(args.users)
            bulk_time, bulk = run_play([bulk_task], workdir)
            bulk_http, _ = emulator.http_requests()
            changed = sum(r["changed"] for r in bulk["results"])
            again_time, again = run_play([bulk_task], workdir)

            emulator.load(args.users)
            loop_task = {MODULE: dict(emulator.auth, user="{{ item.user }}", immutable_id="{{ item.immutable_id }}"),
                         "loop": items[:args.single]}
            single_time, _singles = run_play([loop_task], workdir)
            single_http, _ = emulator.http_requests()

            emulator.load(args.users, quota_scale=0.05, time_scale=0.01)
            scaled_task = {MODULE: dict(bulk_task[MODULE], write_quota={"writes": 5000, "period": 1})}
            scaled_time, scaled = run_play([scaled_task], workdir)
            _, scaled_429 = emulator.http_requests()
        finally:
            emulator.http.close()
            emulator_process.stop(pathlib.Path(workdir) / "lab")

    per_single = single_time / args.single
    print("entra_immutable_id bulk benchmark (Graph emulator over HTTPS, %d cloud users)" % args.users)
    print("  one task, %d users: %.1f s, %d changed, %d HTTP requests to Graph (%s)"
          % (args.users, bulk_time, changed, bulk_http, bulk["graph_requests"]))
    print("  same task again (idempotent): %.1f s, changed=%s, %s" % (again_time, again["changed"],
                                                                      again["graph_requests"]))
    print("  %d single-user tasks (loop): %.1f s, %.2f s and %.1f HTTP requests each -> %d tasks extrapolated: "
          "%.0f s, %d requests" % (args.single, single_time, per_single, single_http / args.single, args.users,
                                   per_single * args.users, single_http * args.users // args.single))
    print("  ratio single tasks / one bulk task for %d users: %.1fx time, %.1fx requests"
          % (args.users, per_single * args.users / bulk_time, single_http * args.users / args.single / bulk_http))
    print("  one task under a scaled quota (150 writes / 1.5 s): %.1f s, %d answers were 429, %s"
          % (scaled_time, scaled_429, scaled["graph_requests"]))


if __name__ == "__main__":
    main()

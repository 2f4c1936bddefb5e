"""Cost of the Graph transport in a fresh process, as every Ansible module run pays it.

Each variant runs in its own interpreter (an Ansible module is a new process per task and
host): import the client stack, then turn one Graph user JSON into the object the code works
with.  Prints wall time and peak memory per variant, and their ratio.

    python bench/graph_transport.py [--runs N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

USER = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
    "id": "4f1c3c55-9f55-4f43-9b8e-0d1ad77c3a1e", "userPrincipalName": "vp@contoso.com",
    "displayName": "VP", "mail": "vp@contoso.com", "proxyAddresses": ["SMTP:vp@contoso.com"],
    "onPremisesImmutableId": None, "onPremisesSyncEnabled": None, "accountEnabled": True,
}

SNIPPETS = {
    "msgraph-sdk (GraphServiceClient + User model)": """
from msgraph import GraphServiceClient
from msgraph.generated.models.user import User
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
node = JsonParseNodeFactory().get_root_parse_node("application/json", PAYLOAD)
user = node.get_object_value(User)
assert user.user_principal_name == "vp@contoso.com"
""",
    "syncfix thin client (httpx + azure-identity + graph_client)": """
import json
import azure.identity
import httpx
from ansible_collections.syncfix.entra.plugins.module_utils._graph import client as graph_client
from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory as entra_directory
user = json.loads(PAYLOAD)
assert user["userPrincipalName"] == "vp@contoso.com"
""",
}

HARNESS = """
import resource, sys, time
start = time.perf_counter()
PAYLOAD = %r
%s
elapsed = time.perf_counter() - start
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def run(snippet, collection_root):
    env = dict(os.environ, PYTHONPATH=collection_root, PYTHONDONTWRITEBYTECODE="1")
    code = HARNESS % (json.dumps(USER).encode(), snippet)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    total = time.perf_counter() - started
    inner, rss_kib = out.stdout.split()
    return total, float(inner), int(rss_kib) / 1024.0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "unit-collections")
    link = os.path.join(root, "ansible_collections", "syncfix", "entra")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), link)
    figures = {}
    print("graph transport, fresh process per run, %d runs each (median)" % args.runs)
    for name, snippet in SNIPPETS.items():
        run(snippet, root)  # warm the OS file cache; .pyc writing is off
        samples = [run(snippet, root) for _ in range(args.runs)]
        total = statistics.median(s[0] for s in samples)
        inner = statistics.median(s[1] for s in samples)
        rss = statistics.median(s[2] for s in samples)
        figures[name] = (total, inner, rss)
        print("  %-62s process %.2f s  import+parse %.2f s  peak RSS %.0f MiB" % (name, total, inner, rss))
    (sdk, thin) = figures.values()
    print("  ratio msgraph-sdk / thin client: time %.1fx, memory %.1fx" % (sdk[0] / thin[0], sdk[2] / thin[2]))


if __name__ == "__main__":
    main()

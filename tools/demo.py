"""``make demo``: the VP story on the built-in lab, told as an admin lives it.

1. The lab starts (Samba AD DC over LDAPS, Graph emulator over HTTPS) and loads the story: the
   VP's mailbox was pre-created in the cloud, soft match is blocked, and today's tenants have
   Duplicate Attribute Resiliency, so the first sync gives her a placeholder duplicate.
2. The role runs in check mode: the plan (remove the duplicate, hard match) is shown, nothing
   is written.
3. The role runs: out of scope, cycle, purge the duplicate, stamp the anchor, back in scope,
   cycle, verify.
4. The role runs again and changes nothing.

Exits 0 only when every step did what it says.  The lab is stopped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab import __main__ as lab_cli  # noqa: E402  (after the path fix)
from lab import checkout_collection, lab_client  # noqa: E402

STATE_DIR = REPO / "lab" / ".state"
SCENARIO = REPO / "lab" / "scenarios" / "resiliency-duplicate.yml"
LINKS = [{"ad": "vp", "cloud": "vp@contoso.com"}]


def say(text):
    print("\n=== %s" % text, flush=True)


def cloud_users(facts):
    users = lab_client.call(facts, "GET", "/state")["users"]
    for user in sorted(users, key=lambda u: u["userPrincipalName"]):
        errors = ", ".join("%s %s" % (e["propertyCausingError"], e["value"])
                           for e in user.get("onPremisesProvisioningErrors") or [])
        print("  %-40s %-8s %-7s %s%s" % (
            user["userPrincipalName"], "synced" if user.get("onPremisesSyncEnabled") else "cloud",
            "deleted" if user.get("deletedDateTime") else "active", "mailbox" if user.get("mailbox") else "",
            "  quarantined: %s" % errors if errors else ""))
    return users


def playbook_vars(facts):
    (service_principal,) = lab_client.call(facts, "GET", "/state")["servicePrincipals"]
    cycle = {"service_principal_id": service_principal["id"], "timeout": 120, "poll_interval": 1,
             "job_id": service_principal["synchronization"]["jobs"][0]["id"]}
    return checkout_collection.remediation_vars(
        facts, facts, service_principal, remediation_links=LINKS, remediation_cycle_options=cycle,
        remediation_verify_retries=20, remediation_verify_delay=2,
        remediation_report_path=str(REPO / "build" / "demo" / "link-plan"))


def run_playbook(variables, check=False):
    folder = REPO / "build" / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    extra = folder / "vars.json"
    handle = os.open(str(extra), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the lab's secrets
    with os.fdopen(handle, "w") as out:
        json.dump(variables, out)
    env = checkout_collection.ansible_env(ANSIBLE_DISPLAY_SKIPPED_HOSTS="0")
    command = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), str(REPO / "playbooks" / "remediate.yml"),
               "-e", "@%s" % extra] + (["--check", "--diff"] if check else [])
    print("$ ansible-playbook playbooks/remediate.yml -e @links.yml%s" % (" --check --diff" if check else ""),
          flush=True)
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    print(completed.stdout, completed.stderr, flush=True)
    if completed.returncode != 0:
        raise SystemExit("the playbook failed (rc %d)" % completed.returncode)
    recap = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)", completed.stdout)
    return int(recap.group(2)) if recap else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the lab running afterwards")
    args = parser.parse_args()
    say("1. The lab: a Samba AD DC (LDAPS) and a Graph emulator (HTTPS)")
    facts = lab_cli.up(STATE_DIR, lab_cli.PARTS)
    try:
        say("2. The story: %s" % SCENARIO.name)
        lab_cli.load(STATE_DIR, str(SCENARIO))
        facts = lab_cli._running(STATE_DIR)
        print("Cloud users before the first sync:")
        cloud_users(facts)
        result = lab_cli.sync(STATE_DIR, "Delta")
        say("3. The first sync: %s, provisioned %s" % (result["result"], ", ".join(result["provisioned"]) or "nobody"))
        users = cloud_users(facts)
        duplicates = [u for u in users if re.match(r"^vp\d{4}@", u["userPrincipalName"])]
        if not duplicates:
            raise SystemExit("expected the resiliency duplicate vp####@contoso.onmicrosoft.com")
        print("Duplicate Attribute Resiliency created %s and joined the VP's AD account to it; her pre-created "
              "mailbox vp@contoso.com is not linked." % duplicates[0]["userPrincipalName"])
        lab_client.call(facts, "PATCH", "/config", {"time_scale": 0.01})  # Cloud Sync's PT2M runs in 1.2 s
        variables = playbook_vars(facts)
        say("4. The plan, in check mode: nothing is written")
        run_playbook(variables, check=True)
        say("5. The remediation")
        run_playbook(variables)
        users = cloud_users(facts)
        vp = next(u for u in users if u["userPrincipalName"] == "vp@contoso.com")
        if not (vp.get("onPremisesSyncEnabled") and len(users) == 1):
            raise SystemExit("the VP is not linked to her pre-created mailbox")
        print("vp@contoso.com, the pre-created mailbox, is now synced from the VP's AD account; the duplicate "
              "is gone. Reports: build/demo/link-plan.{json,csv,md}")
        say("6. Again: nothing left to change")
        changed = run_playbook(variables)
        if changed:
            raise SystemExit("the second run changed %d tasks" % changed)
        print("changed=0: the links hold.")
    finally:
        if not args.keep:
            lab_cli.down(STATE_DIR, lab_cli.PARTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())

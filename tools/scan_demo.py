"""``make scan``: the sync-conflict scan on the built-in lab, before and after the sync.

1. The lab starts (Samba AD DC over LDAPS, Graph emulator over HTTPS) and loads the
   duplicate-on-prem story: two AD users share an alias, a third has a .local UPN.
2. playbooks/scan.yml scans AD and the tenant before the first sync: the duplicate and the
   non-routable UPN are found before Entra sees them.
3. The first sync runs; Duplicate Attribute Resiliency quarantines the alias.
4. The scan again: the quarantine shows as the cloud user's provisioning error.

Reports (IdFix CSV, JSON, Markdown, HTML) land in build/scan/before and build/scan/after.
Exits 0 only when each scan found what the story says.  The lab is stopped unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab import __main__ as lab_cli  # noqa: E402  (after the path fix)
from lab import checkout_collection, lab_client  # noqa: E402

STATE_DIR = REPO / "lab" / ".state"
SCENARIO = REPO / "lab" / "scenarios" / "duplicate-on-prem.yml"
OUT = REPO / "build" / "scan"


def say(text):
    print("\n=== %s" % text, flush=True)


def run_scan(facts, name):
    """ansible-playbook playbooks/scan.yml against the lab; returns the scan's JSON report."""
    OUT.mkdir(parents=True, exist_ok=True)
    (service_principal,) = lab_client.call(facts, "GET", "/state")["servicePrincipals"]
    variables = checkout_collection.remediation_vars(facts, facts, service_principal,
                                                     report_path=str(OUT / name))
    extra = OUT / "vars.json"
    handle = os.open(str(extra), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the lab's secrets
    with os.fdopen(handle, "w") as out:
        json.dump(variables, out)
    print("$ ansible-playbook playbooks/scan.yml -e @connection.yml -e report_path=build/scan/%s" % name, flush=True)
    completed = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), str(REPO / "playbooks" / "scan.yml"),
         "-e", "@%s" % extra], env=checkout_collection.ansible_env(), capture_output=True, text=True)
    print(completed.stdout, completed.stderr, flush=True)
    if completed.returncode != 0:
        raise SystemExit("the scan failed (rc %d)" % completed.returncode)
    with open(OUT / name / "scan.json", encoding="utf-8") as report:
        return json.load(report)


def rules_of(report):
    return set(report["counts_by_rule"])


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
        say("3. The scan before the first sync")
        before = run_scan(facts, "before")
        missing = {"duplicate_address", "idfix_topleveldomain"} - rules_of(before)
        if missing:
            raise SystemExit("the scan before the sync missed %s" % ", ".join(sorted(missing)))
        say("4. The first sync: %s" % lab_cli.sync(STATE_DIR, "Delta")["result"])
        say("5. The scan after it")
        after = run_scan(facts, "after")
        if "provisioning_error" not in rules_of(after):
            raise SystemExit("the scan after the sync missed the quarantined alias (provisioning_error)")
        print("Reports: %s/{before,after}/scan.{csv,json,md,html}" % OUT.relative_to(REPO))
    finally:
        if not args.keep:
            lab_cli.down(STATE_DIR, lab_cli.PARTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())

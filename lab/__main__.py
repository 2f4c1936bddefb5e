"""``python -m lab up|down|status|load|sync [--only graph|samba] [--state-dir DIR]``: the whole lab.

``up`` installs the Samba packages when missing (root), starts the Samba AD DC and the Graph
emulator, tells the emulator where the DC is, and writes every connection fact to
``<state-dir>/lab.json`` (mode 0600: it holds the lab's secrets). ``down`` stops both by pid.
``status`` says what runs. Each step is idempotent: ``up`` twice leaves one DC and one emulator.

``load SCENARIO`` resets both sides to exactly the scenario file (the DC to its pristine
snapshot, the tenant to the file's tenant, the connector space to empty). ``sync`` runs one
cycle of the sync simulator and prints its run result; it exits 2 when the run has export
errors, as a scheduler would flag it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import sys

from . import emulator_process, lab_client, lab_facts, samba_dc

DEFAULT_STATE_DIR = pathlib.Path(__file__).resolve().parent / ".state"
DEFAULT_GRAPH_PORT = 9443
PARTS = ("samba", "graph")


def _graph_port() -> int:
    return int(os.environ.get("SYNCFIX_LAB_GRAPH_PORT", DEFAULT_GRAPH_PORT))


def up(state_dir: pathlib.Path, parts, install: bool = True) -> dict:
    facts = {}
    if "samba" in parts:
        if install:
            samba_dc.install_packages(log=lambda message: logging.info("%s", message))
        facts.update(samba_dc.up(state_dir))
    if "graph" in parts:
        facts.update(emulator_process.start(state_dir, port=_graph_port()))
    merged = lab_facts.write(state_dir, facts)
    if "graph_endpoint" in merged and "ldap_server" in merged:
        lab_client.call(merged, "PUT", "/ad", merged)
    return merged


def load(state_dir: pathlib.Path, path: str) -> dict:
    from .scenario import ScenarioError, ad_side, load as load_scenario, tenant_side

    try:
        data = load_scenario(path)
    except ScenarioError as error:
        raise RuntimeError(str(error)) from None
    facts = _running(state_dir)
    lab_client.call(facts, "POST", "/reset", tenant_side.tenant_state(data))
    dns = ad_side.load(state_dir, data)
    running = samba_dc.status(state_dir).get("facts") or {}
    facts = lab_facts.write(state_dir, running)  # the reset restarted the DC: a new pid
    lab_client.call(facts, "PUT", "/ad", facts)
    return {"scenario": data["name"], "ad_objects": dns, "expect": data.get("expect")}


def sync(state_dir: pathlib.Path, profile: str) -> dict:
    return lab_client.call(_running(state_dir), "POST", "/sync", {"profile": profile})


def _running(state_dir: pathlib.Path) -> dict:
    facts = lab_facts.read(state_dir)
    if "graph_endpoint" not in facts or "ldap_server" not in facts:
        raise RuntimeError("the lab is not up (no %s with both parts); run make lab-up" % lab_facts.path(state_dir))
    return facts


def down(state_dir: pathlib.Path, parts) -> dict:
    stopped = {}
    if "graph" in parts:
        stopped["graph_pid"] = emulator_process.stop(state_dir)
    if "samba" in parts:
        stopped["samba_pid"] = samba_dc.down(state_dir).get("stopped")
    lab_facts.forget(state_dir, parts)
    return stopped


def status(state_dir: pathlib.Path, parts) -> dict:
    result = {}
    if "graph" in parts:
        graph = emulator_process.running(state_dir)
        result["graph"] = {"running": bool(graph), **({"graph_endpoint": graph["graph_endpoint"],
                                                        "graph_pid": graph["graph_pid"]} if graph else {})}
    if "samba" in parts:
        result["samba"] = samba_dc.status(state_dir)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("up", "down", "status", "load", "sync"))
    parser.add_argument("scenario", nargs="?", help="with load: the scenario file")
    parser.add_argument("--profile", choices=("Delta", "Initial"), default="Delta", help="with sync")
    parser.add_argument("--state-dir", type=pathlib.Path, default=DEFAULT_STATE_DIR,
                        help="lab state folder (default: %(default)s)")
    parser.add_argument("--only", choices=PARTS, help="act on one part of the lab")
    parser.add_argument("--no-install", action="store_true", help="with up: do not install missing Debian packages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parts = (args.only,) if args.only else PARTS
    state_dir = args.state_dir.resolve()
    try:
        if args.action == "up":
            result = lab_facts.public(up(state_dir, parts, install=not args.no_install))
            result["facts_file"] = str(lab_facts.path(state_dir))
        elif args.action == "down":
            result = down(state_dir, parts)
        elif args.action == "load":
            if not args.scenario:
                parser.error("load needs a scenario file, e.g. lab/scenarios/vp-preprovisioned.yml")
            result = load(state_dir, args.scenario)
        elif args.action == "sync":
            result = sync(state_dir, args.profile)
        else:
            result = status(state_dir, parts)
    except (emulator_process.EmulatorError, lab_client.LabApiError, OSError, TimeoutError, RuntimeError) as error:
        print("lab %s: %s" % (args.action, error), file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 2 if args.action == "sync" and result.get("result") != "success" else 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m lab up|down|status [--only graph|samba] [--state-dir DIR]``: the whole lab.

``up`` installs the Samba packages when missing (root), starts the Samba AD DC and the Graph
emulator, and writes every connection fact to ``<state-dir>/lab.json`` (mode 0600: it holds
the lab's secrets). ``down`` stops both by pid. ``status`` says what runs. Each step is
idempotent: ``up`` twice leaves one DC and one emulator.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import sys

from . import emulator_process, lab_facts, samba_dc

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
    return lab_facts.write(state_dir, facts)


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
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--state-dir", type=pathlib.Path, default=DEFAULT_STATE_DIR,
                        help="lab state folder (default: %(default)s)")
    parser.add_argument("--only", choices=PARTS, help="act on one part of the lab")
    parser.add_argument("--no-install", action="store_true", help="with up: do not install missing Debian packages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    parts = (args.only,) if args.only else PARTS
    state_dir = args.state_dir.resolve()
    try:
        if args.action == "up":
            result = lab_facts.public(up(state_dir, parts, install=not args.no_install))
            result["facts_file"] = str(lab_facts.path(state_dir))
        elif args.action == "down":
            result = down(state_dir, parts)
        else:
            result = status(state_dir, parts)
    except (emulator_process.EmulatorError, OSError, TimeoutError, RuntimeError) as error:
        print("lab %s: %s" % (args.action, error), file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

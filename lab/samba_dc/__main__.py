"""``python -m lab.samba_dc up|down|reset|status|install`` — the DC on its own, without the lab CLI."""

from __future__ import annotations

import argparse
import json
import logging
import pathlib
import sys

from . import down, install_packages, reset, status, up

DEFAULT_STATE_DIR = pathlib.Path(__file__).resolve().parent.parent / ".state"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.samba_dc", description=__doc__)
    parser.add_argument("action", choices=("up", "down", "reset", "status", "install"))
    parser.add_argument(
        "--state-dir", type=pathlib.Path, default=DEFAULT_STATE_DIR,
        help="lab state folder; the DC lives in <state-dir>/samba (default: %(default)s)",
    )
    parser.add_argument(
        "--no-install", action="store_true",
        help="with up/reset: do not install missing Debian packages",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    if args.action == "install" or (args.action in ("up", "reset") and not args.no_install):
        installed = install_packages(log=lambda message: logging.info("%s", message))
        if installed["installed"]:
            logging.info("samba_dc: packages installed in %.1f s", installed["seconds"])
    if args.action == "install":
        return 0
    actions = {"up": up, "down": down, "reset": reset, "status": status}
    result = actions[args.action](args.state_dir)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

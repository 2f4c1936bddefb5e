"""Debian packages the Samba AD DC needs, installed only when missing.

LAB-NOTES: with ``--no-install-recommends`` provisioning fails unless ``samba-ad-provision``
is named, so it is always named. The package scripts start no service on these machines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

PACKAGES = ("samba", "samba-ad-dc", "samba-ad-provision", "winbind", "krb5-user", "ldb-tools")

# Tools the lab calls; if all are on PATH and dpkg knows every package, nothing is done.
REQUIRED_TOOLS = ("samba", "samba-tool", "ldbadd", "ldbmodify", "ldbsearch")


def missing_packages() -> list[str]:
    """Return the packages dpkg does not report as installed."""
    missing = []
    for name in PACKAGES:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Status}", name],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0 or result.stdout.strip() != "installed":
            missing.append(name)
    return missing


def install_packages(log=print) -> dict:
    """Install the Samba packages when any is missing (``apt-get update`` once, then install).

    Returns ``{"installed": [names], "seconds": float}``; ``installed`` is empty when nothing
    had to be done. Needs root (the lab's documented prerequisite).
    """
    started = time.monotonic()
    missing = missing_packages()
    if not missing and all(shutil.which(tool) for tool in REQUIRED_TOOLS):
        return {"installed": [], "seconds": round(time.monotonic() - started, 2)}
    if os.geteuid() != 0:
        raise PermissionError(
            "the Samba AD DC packages are missing (%s); run as root or install them with "
            "apt-get install %s" % (", ".join(missing), " ".join(PACKAGES))
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log("samba_dc: installing %s" % " ".join(missing or PACKAGES))
    subprocess.run(["apt-get", "update", "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )
    return {"installed": missing, "seconds": round(time.monotonic() - started, 2)}

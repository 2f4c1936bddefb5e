"""The pristine snapshot: a tar of the stopped, freshly provisioned and extended DC tree.

Provisioning plus the schema extension takes several seconds; extracting the tar takes about
one (LAB-NOTES), so every ``up`` after the first, and every ``reset``, restores it instead.
smb.conf holds absolute paths, so a snapshot is only valid at the path it was taken from;
the recipe version in the tree's metadata invalidates snapshots made by an older recipe.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from .settings import DcPaths


def save(paths: DcPaths) -> None:
    """Write ``pristine.tar`` from the (stopped) DC tree, atomically."""
    partial = paths.snapshot.with_suffix(".tar.partial")
    subprocess.run(
        ["tar", "-C", str(paths.root), "-cf", str(partial), "--sparse", paths.dc.name],
        check=True,
    )
    partial.replace(paths.snapshot)


def usable(paths: DcPaths, recipe: str) -> bool:
    """True when ``pristine.tar`` exists and was taken at this path by this recipe."""
    if not paths.snapshot.is_file():
        return False
    meta_member = "%s/%s" % (paths.dc.name, paths.meta.name)
    result = subprocess.run(
        ["tar", "-xOf", str(paths.snapshot), meta_member],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        return False
    try:
        meta = json.loads(result.stdout)
    except ValueError:
        return False
    return meta.get("recipe") == recipe and meta.get("dc_path") == str(paths.dc)


def restore(paths: DcPaths) -> None:
    """Replace the DC tree with the snapshot's. Samba must be stopped."""
    if paths.dc.exists():
        shutil.rmtree(paths.dc)
    subprocess.run(["tar", "-C", str(paths.root), "-xf", str(paths.snapshot)], check=True)

"""``lab/.state/lab.json``: what a client needs to reach the running lab.

One flat JSON object: the Graph emulator's facts (``graph_endpoint``, ``authority_host``,
``tenant_id``, ``client_id``, ``client_secret``, ``ca_path``, ``graph_pid``) and the Samba
DC's (``ldap_server``, ``ldaps_port``, ``base_dn``, ``bind_dn``, ``bind_password``,
``ldap_ca_path``, ``realm``, ``samba_pid``). Written with mode 0600 because it holds secrets.
"""

from __future__ import annotations

import json
import os
import pathlib

SECRET_KEYS = {"client_secret", "bind_password"}
GRAPH_KEYS = {"graph_endpoint", "authority_host", "tenant_id", "client_id", "client_secret", "ca_path", "graph_pid",
              "graph_port", "graph_state_path", "graph_log_path", "graph_lab_api"}


def path(state_dir: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(state_dir) / "lab.json"


def read(state_dir: pathlib.Path) -> dict:
    try:
        return json.loads(path(state_dir).read_text())
    except (OSError, ValueError):
        return {}


def write(state_dir: pathlib.Path, facts: dict) -> dict:
    """Merge ``facts`` into lab.json and return the whole document."""
    merged = read(state_dir)
    merged.update(facts)
    _save(state_dir, merged)
    return merged


def forget(state_dir: pathlib.Path, parts) -> None:
    """Drop the facts of stopped parts, so lab.json never points at a process that is gone."""
    kept = read(state_dir)
    if "graph" in parts:
        kept = {k: v for k, v in kept.items() if k not in GRAPH_KEYS}
    if "samba" in parts:
        kept = {k: v for k, v in kept.items() if k in GRAPH_KEYS}
    if kept:
        _save(state_dir, kept)
    else:
        path(state_dir).unlink(missing_ok=True)


def public(facts: dict) -> dict:
    """The facts with secrets masked, for printing."""
    return {k: ("********" if k in SECRET_KEYS else v) for k, v in facts.items()}


def _save(state_dir: pathlib.Path, facts: dict) -> None:
    target = path(state_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(facts, handle, indent=1, sort_keys=True)
    os.replace(temporary, target)

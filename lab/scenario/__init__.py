"""Lab scenarios: one hybrid identity story per YAML file, validated against
``lab/scenario.schema.json`` with errors that name the bad field.

    scenario = load("lab/scenarios/vp-preprovisioned.yml")

The AD side is applied to the lab's Samba DC by ``lab.scenario.ad_side.apply``; the tenant
side is written in Microsoft Graph's property names for the Graph emulator to load.
"""

from __future__ import annotations

import json
import pathlib

import jsonschema
import yaml

SCHEMA_PATH = pathlib.Path(__file__).resolve().parent.parent / "scenario.schema.json"
SCENARIO_DIR = pathlib.Path(__file__).resolve().parent.parent / "scenarios"


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the field."""


def field_path(parts) -> str:
    text = ""
    for part in parts:
        text += "[%d]" % part if isinstance(part, int) else ("." if text else "") + str(part)
    return text or "(top level)"


def validate(data: dict, source: str = "scenario") -> dict:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        raise ScenarioError("%s: %s" % (source, "; ".join(
            "%s: %s" % (field_path(e.absolute_path), e.message) for e in errors)))
    problems = cross_checks(data)
    if problems:
        raise ScenarioError("%s: %s" % (source, "; ".join(problems)))
    return data


def cross_checks(data: dict) -> list[str]:
    """Rules the schema cannot say: unique names, one primary SMTP, known group members."""
    problems = []
    ad = data.get("ad") or {}
    users = ad.get("users") or []
    sams = [u["sAMAccountName"].lower() for u in users]
    for index, sam in enumerate(sams):
        if sams.index(sam) != index:
            problems.append("ad.users[%d].sAMAccountName: %r is used twice (AD requires it unique)" % (index, sam))
    upns = [(u.get("userPrincipalName") or "").lower() for u in users]
    for index, upn in enumerate(upns):
        if upn and upns.index(upn) != index:
            problems.append("ad.users[%d].userPrincipalName: %r is used twice (AD requires it unique)" % (index, upn))
    for kind in ("users", "contacts", "groups"):
        for index, item in enumerate(ad.get(kind) or []):
            primaries = [p for p in item.get("proxyAddresses") or [] if p.startswith("SMTP:")]
            if len(primaries) > 1:
                problems.append("ad.%s[%d].proxyAddresses: two primary SMTP addresses %s" % (kind, index, primaries))
    for index, group in enumerate(ad.get("groups") or []):
        for member in group.get("members") or []:
            if member.lower() not in sams:
                problems.append("ad.groups[%d].members: %r is not an ad.users sAMAccountName" % (index, member))
    tenant = data.get("tenant") or {}
    domains = [d["id"].lower() for d in tenant.get("domains") or []]
    if sum(1 for d in tenant.get("domains") or [] if d.get("isInitial")) != 1:
        problems.append("tenant.domains: exactly one domain must have isInitial: true (the onmicrosoft.com one)")
    for index, user in enumerate(tenant.get("users") or []):
        domain = user["userPrincipalName"].rsplit("@", 1)[-1].lower()
        if domain not in domains:
            problems.append("tenant.users[%d].userPrincipalName: domain %r is not in tenant.domains" % (index, domain))
    return problems


def load(path) -> dict:
    path = pathlib.Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ScenarioError("%s: cannot read: %s" % (path, e))
    if not isinstance(data, dict):
        raise ScenarioError("%s: (top level): expected a mapping" % path)
    return validate(data, str(path))


def all_scenarios() -> list[pathlib.Path]:
    return sorted(SCENARIO_DIR.glob("*.yml"))

"""Lab scenarios: one hybrid identity story per YAML file, validated against
``lab/scenario.schema.json`` with errors that name the bad field.

    scenario = load("lab/scenarios/vp-preprovisioned.yml")

The AD side is applied to the lab's Samba DC by ``lab.scenario.ad_side.apply``; the tenant
side is written in Microsoft Graph's property names for the Graph emulator to load.
"""

from __future__ import annotations

import json
import pathlib
import re

import jsonschema
import yaml

SCHEMA_PATH = pathlib.Path(__file__).resolve().parent.parent / "scenario.schema.json"
SCENARIO_DIR = pathlib.Path(__file__).resolve().parent.parent / "scenarios"


# Duplicate Attribute Resiliency's switches ("onPremisesDirectorySynchronizationFeature"): on in
# the resiliency world, off in the strict one.
QUARANTINE_SWITCHES = ("quarantineUponProxyAddressesConflictEnabled", "quarantineUponUpnConflictEnabled")


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
    for name in QUARANTINE_SWITCHES:
        stated = (tenant.get("features") or {}).get(name)
        if stated is not None and stated != (data.get("world") == "resiliency"):
            problems.append("tenant.features.%s: %s contradicts world: %s" % (name, stated, data.get("world")))
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


def cloud_end_state(state: dict) -> list[dict]:
    """Every cloud user of a tenant-state document in the shape of ``expect.cloud_users``."""
    return sorted(({
        "userPrincipalName": u["userPrincipalName"], "synced": bool(u.get("onPremisesSyncEnabled")),
        "deleted": bool(u.get("deletedDateTime")), "object": u.get("onPremisesSamAccountName"),
        "quarantined": sorted("%s %s" % (e["propertyCausingError"], e["value"])
                              for e in u.get("onPremisesProvisioningErrors") or []),
    } for u in state["users"]), key=lambda u: u["userPrincipalName"].lower())


def _expected_user(expected: dict) -> dict:
    return {"userPrincipalName": expected["userPrincipalName"], "synced": expected["synced"],
            "deleted": expected.get("deleted", False), "object": expected.get("object"),
            "quarantined": sorted(expected.get("quarantined") or [])}


def cloud_users_match(expected: list[dict], state: dict) -> bool:
    """Whether the tenant's cloud users are exactly the expected ones ('#' is one digit in a UPN)."""
    actual = cloud_end_state(state)
    wanted = [_expected_user(e) for e in expected]
    if len(actual) != len(wanted):
        return False
    for want in wanted:
        pattern = re.compile("^%s$" % re.escape(want["userPrincipalName"]).replace("\\#", "#").replace("#", r"\d"),
                             re.IGNORECASE)
        found = next((a for a in actual if pattern.match(a["userPrincipalName"])
                      and dict(a, userPrincipalName=None) == dict(want, userPrincipalName=None)), None)
        if found is None:
            return False
        actual.remove(found)
    return True

"""N declared links for the remediation role with the mix a tenant-wide clean-up meets (issue 18).

``generate(n)`` returns a scenario (the lab's scenario shape: ``world``, ``ad``, ``tenant``) and
the role's ``remediation_links``; ``load_ad`` adds the AD side under a fresh OU with ldap3 adds,
one by one on one LDAPS connection (as bench/ad_bulk.py does); ``tenant_document`` is the
emulator's tenant state for one ``PUT /_lab/state``.

The story: the AD users of ``Synced`` have been synchronised for a while (the bench runs one
cycle over that OU before the role: that cycle links or duplicates them, as the engine does);
the users of ``Onboard`` are about to come into the sync scope, each meeting a cloud user
created before. The world is today's (Duplicate Attribute Resiliency on), soft match allowed.
The blocked links' AD users are in scope too: every cycle meets their export errors, which the
role reports without failing (``skip_blocked`` applies the other links).

| kind | share | OU | AD user | cloud | the link declares | the plan should say |
|---|---|---|---|---|---|---|
| ``linked`` | 40 % | Synced | a new hire | none: the first cycle provisions it | nothing | linked |
| ``soft`` | 10 % | Onboard | primary SMTP = the cloud mailbox's | mailbox user | nothing | pending (the cycle soft-matches) |
| ``align`` | 10 % | Onboard | the cloud primary is only a secondary ``smtp:`` | mailbox user | its UPN | soft: align the primary SMTP |
| ``hard`` | 15 % | Onboard | same UPN | UPN only, no mailbox: nothing to soft-match | its UPN | hard: stamp the anchor |
| ``duplicate`` | 8 % | Synced | same UPN | UPN only: the first cycle provisions a resiliency placeholder | its UPN | purge it, stamp |
| ``orphaned`` | 7 % | Onboard | same address | mailbox user with a stray immutable id | its UPN, ``force: true`` | hard (force the stamp) |
| ``recycled`` | 5 % | Onboard | same address | mailbox user in the recycle bin (5 days) | its object id | restore, stamp |
| ``admin`` | 3 % | Onboard | same address | mailbox user, active Global Administrator | nothing | blocked (ExistingAdminRoleConflict) |
| ``object_type`` | 2 % | Onboard | same address | a cloud group or contact holds it | nothing | blocked (ObjectTypeMismatch) |

link_plan never chooses a cloud user (issue 26): a link that declares none gets only what the
sync does cleanly, so every kind whose fix writes (restore, stamp, align, purge) names its cloud
user, a soft-deleted one by object id, and re-pointing a stray anchor carries the link's own
``force``.

    python bench/link_scenarios.py --links 200     # prints the counts per kind, loads nothing
"""

from __future__ import annotations

import argparse
import base64
import collections
import sys
import pathlib
import uuid

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lab.scenario import tenant_side  # noqa: E402

MIX = (("linked", 0.40), ("soft", 0.10), ("align", 0.10), ("hard", 0.15), ("duplicate", 0.08),
       ("orphaned", 0.07), ("recycled", 0.05), ("admin", 0.03), ("object_type", 0.02))
SYNCED_KINDS = ("linked", "duplicate")
BLOCKED_KINDS = ("admin", "object_type")
UAC_ENABLED = 544  # NORMAL_ACCOUNT + PASSWD_NOTREQD: lab users have no password
DOMAIN = "contoso.com"


def kinds(n: int, without=()) -> list[str]:
    """The kind of each of ``n`` links, interleaved (largest remainder per kind, then round-robin by
    share) so any prefix of the list is a sample of the mix; ``without``: kinds left out, the
    others' shares scaled up."""
    mix = [(kind, share) for kind, share in MIX if kind not in without]
    total = sum(share for _kind, share in mix)
    mix = [(kind, share / total) for kind, share in mix]
    counts = {kind: int(n * share) for kind, share in mix}
    rest = sorted(mix, key=lambda item: n * item[1] - int(n * item[1]), reverse=True)
    for kind, _share in rest[:n - sum(counts.values())]:
        counts[kind] += 1
    order, placed = [], collections.Counter()
    for index in range(n):
        # The kind furthest behind its share at this point of the list comes next.
        kind = max((k for k, _s in mix if placed[k] < counts[k]),
                   key=lambda k: (counts[k] * (index + 1) / n - placed[k], counts[k]))
        placed[kind] += 1
        order.append(kind)
    return order


def stray_anchor(index: int) -> str:
    return base64.b64encode(uuid.UUID(int=(0x0bad << 112) + index).bytes_le).decode()


def generate(n: int, prefix: str | None = None, pad_size: str = "L", without=()) -> dict:
    """``{"scenario", "links", "kinds", "prefix"}`` for ``n`` links; names ``<prefix>-<index>``."""
    prefix = prefix or "r%s" % uuid.uuid4().hex[:4]
    ad_users, cloud_users, groups, contacts, links = [], [], [], [], []
    order = kinds(n, without)
    for index, kind in enumerate(order):
        sam = "%s-%05d" % (prefix, index)
        address = "%s@%s" % (sam, DOMAIN)
        display = "Bench %s %05d" % (kind, index)
        ou = "Synced" if kind in SYNCED_KINDS else "Onboard"
        user = {"sAMAccountName": sam, "ou": ou, "displayName": display,
                "userPrincipalName": address, "mail": address, "proxyAddresses": ["SMTP:%s" % address]}
        cloud = {"userPrincipalName": address, "displayName": display + " (pre-created)", "mail": address,
                 "proxyAddresses": ["SMTP:%s" % address]}
        if kind == "soft":
            cloud.update(mailbox=True, licenses=["ENTERPRISEPACK"])
        elif kind == "align":
            old = "%s.old@%s" % (sam, DOMAIN)
            user.update(mail=old, proxyAddresses=["SMTP:%s" % old, "smtp:%s" % address])
            cloud.update(mailbox=True, licenses=["ENTERPRISEPACK"])
        elif kind in ("hard", "duplicate"):
            # An account made ahead of the licence: the UPN only, no mailbox, so no address
            # Exchange stamps and nothing to soft-match on (soft match on the UPN is off).
            cloud = {"userPrincipalName": address, "displayName": display + " (pre-created)", "mailbox": False}
        elif kind == "orphaned":
            cloud.update(mailbox=True, onPremisesImmutableId=stray_anchor(index))
        elif kind == "recycled":
            # A soft-deleted account is declared by its object id only (issue 26).
            cloud.update(id=str(uuid.uuid5(uuid.NAMESPACE_DNS, address)), mailbox=True, licenses=["ENTERPRISEPACK"],
                         deletedDaysAgo=5)
        elif kind == "admin":
            cloud.update(mailbox=True, roles=[{"name": "Global Administrator", "assignment": "active"}])
        elif kind == "object_type":
            holder = {"displayName": display, "mail": address, "proxyAddresses": ["SMTP:%s" % address]}
            if len(groups) > len(contacts):
                contacts.append(holder)
            else:
                groups.append(dict(holder, mailEnabled=True))
            cloud = None
        if kind == "linked":
            cloud = None
        ad_users.append(user)
        if cloud:
            cloud_users.append(cloud)
        # The kinds whose fix writes name their cloud user; the others get what the sync does.
        if kind in ("align", "hard", "duplicate"):
            links.append({"ad": sam, "cloud": address})
        elif kind == "orphaned":
            links.append({"ad": sam, "cloud": address, "force": True})
        elif kind == "recycled":
            links.append({"ad": sam, "cloud": cloud["id"]})
        else:
            links.append({"ad": sam})
    scenario = {
        "name": "bench-%d" % n, "world": "resiliency",
        "ad": {"ous": ["Synced", "Onboard"], "users": ad_users},
        "tenant": {"domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": DOMAIN}],
                   "features": {"blockSoftMatchEnabled": False, "softMatchOnUpnEnabled": False},
                   "users": cloud_users, "groups": groups, "contacts": contacts},
    }
    if pad_size:
        # The identity quotas follow the tenant's size (DESIGN.md: > 500 users is L); a sample of
        # a few links still runs against a large tenant's budget.
        scenario["tenant"]["size"] = pad_size
    return {"scenario": scenario, "links": links, "kinds": order, "prefix": prefix}


def tenant_document(scenario: dict, interval: str = "PT2M") -> dict:
    """The emulator's tenant state. The Cloud Sync job has not run yet (NotRun): no scheduled
    cycle runs before the role's first one, which starts it; after that it is Active and runs
    every ``interval`` (Cloud Sync's own PT2M, scaled by the emulator's time_scale), and the
    role's later cycle waits for that scheduled run, as it does against Entra."""
    state = tenant_side.tenant_state(scenario)
    state["servicePrincipals"] = [{
        "displayName": "Microsoft Entra Cloud Sync (contoso.com)",
        "synchronization": {"jobs": [{"templateId": "AD2AADProvisioning", "status": {"code": "NotRun"},
                                      "schedule": {"interval": interval, "state": "Active"}}]}}]
    return state


def load_ad(connection, scenario: dict, root_dn: str) -> dict:
    """Adds the OU ``root_dn``, its sub-OUs and every AD user; returns ``{ou name: dn}``."""
    connection.add(root_dn, ["top", "organizationalUnit"])
    ous = {}
    for name in scenario["ad"]["ous"]:
        ous[name] = "OU=%s,%s" % (name, root_dn)
        connection.add(ous[name], ["top", "organizationalUnit"])
    for user in scenario["ad"]["users"]:
        attributes = {"sAMAccountName": user["sAMAccountName"], "userPrincipalName": user["userPrincipalName"],
                      "displayName": user["displayName"], "mail": user["mail"],
                      "proxyAddresses": list(user["proxyAddresses"]), "userAccountControl": UAC_ENABLED}
        connection.add("CN=%s,%s" % (user["sAMAccountName"], ous[user["ou"]]),
                       ["top", "person", "organizationalPerson", "user"], attributes)
        if connection.result["description"] != "success":
            raise RuntimeError("adding %s: %s" % (user["sAMAccountName"], connection.result))
    return ous


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=1000)
    args = parser.parse_args()
    generated = generate(args.links)
    counts = collections.Counter(generated["kinds"])
    tenant = generated["scenario"]["tenant"]
    print("%d links: %s" % (args.links, ", ".join("%s %d" % (k, counts[k]) for k, _s in MIX)))
    print("AD users %d; cloud users %d (%d in the recycle bin), groups %d, contacts %d"
          % (len(generated["scenario"]["ad"]["users"]), len(tenant["users"]),
             sum(1 for u in tenant["users"] if "deletedDaysAgo" in u), len(tenant["groups"]), len(tenant["contacts"])))


if __name__ == "__main__":
    main()

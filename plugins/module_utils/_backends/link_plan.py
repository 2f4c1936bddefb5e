# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What link_plan reads: both directories, in bulk, turned into the planner's model.
Internal to this collection: not a public API.

AD: the linked users by any selector, 50 to an OR-filtered paged search.  Entra: the declared
cloud users, every user holding one of the AD users' addresses or UPNs, every user holding one
of their anchors, the recycle bin once, the groups and contacts holding their addresses, the
role holdings of every cloud user read, the tenant's sync features and domains once.  Never one
request per link; the reads that don't need one another's answers run side by side.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.syncfix.entra.plugins.module_utils._sync import prediction as sync
from ansible_collections.syncfix.entra.plugins.module_utils._rules.dn import is_under
from ansible_collections.syncfix.entra.plugins.module_utils._ldap import objects as ad_objects
from ansible_collections.syncfix.entra.plugins.module_utils._graph import cloud_users, directory
from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import smtp_addresses
from ansible_collections.syncfix.entra.plugins.module_utils._plan import rows
from ansible_collections.syncfix.entra.plugins.module_utils._report.private_file import folder_problem

AD_ATTRIBUTES = ["mS-DS-ConsistencyGuid", "adminDescription"]


def _single(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value or None


def _guid(raw):
    raw = _single(raw)
    return str(uuid.UUID(bytes_le=bytes(raw))) if raw and len(raw) == 16 else None


def _under(dn, ous):
    return any(is_under(dn, ou) for ou in ous)


def ad_user_of(entry, scope_ous=()):
    """An AD entry as the planner's AdUser (``scope_ous``: the OUs the engine synchronises)."""
    attributes = entry["attributes"]
    return sync.AdUser(
        entry["dn"], _guid(entry["raw"].get("objectGUID")), _guid(entry["raw"].get("mS-DS-ConsistencyGuid")),
        sam=_single(attributes.get("sAMAccountName")), upn=_single(attributes.get("userPrincipalName")),
        mail=_single(attributes.get("mail")), proxy_addresses=attributes.get("proxyAddresses") or [],
        admin_description=_single(attributes.get("adminDescription")),
        in_scope_ou=_under(entry["dn"], scope_ous) if scope_ous else True)


def read_ad_users(connection, selectors, scope_ous=()):
    """``(found {selector: AdUser}, problems {selector: why})``."""
    lookup = ad_objects.find_objects(connection, selectors, AD_ATTRIBUTES, classes=("user",),
                                     convert=lambda entry: ad_user_of(entry, scope_ous))
    found = lookup.found
    problems = dict((selector, "no AD user has this name") for selector in lookup.missing)
    problems.update((selector, "matches several AD users (%s); name one by DN or objectGUID" % "; ".join(dns))
                    for selector, dns in lookup.ambiguous.items())
    return found, problems


class CloudFacts:
    """The world the planner predicts in, and which cloud user each declared selector names."""

    def __init__(self, world, found, problems, warnings, refused=None):
        self.world = world
        self.found = found          # {selector: CloudObject}
        self.problems = problems    # {selector: why}
        self.warnings = warnings
        self.refused = refused or {}  # {selector: a blocker's {rule, reason, way_out, source}}


def _addresses(ad_users):
    wanted = []
    for ad_user in ad_users:
        wanted += smtp_addresses(ad_user.proxy_addresses)
        wanted += [v for v in (ad_user.mail, ad_user.upn) if v]
    return list(dict.fromkeys(a.lower() for a in wanted))


def side_by_side(*reads):
    """Run independent reads at once and return their answers in order; the first failure is
    raised once all have ended.  Graph lets an app's requests overlap within its quota, so the
    reads that don't need one another's answers don't queue behind one another."""
    with ThreadPoolExecutor(max_workers=len(reads)) as pool:
        pending = [pool.submit(read) for read in reads]
    return [done.result() for done in pending]


def read_cloud(client, ad_users, cloud_selectors, now=None):
    """Everything the planner needs from Graph about these AD users and declared cloud users."""
    warnings = []
    addresses = _addresses(ad_users)
    lookup, anchored, deleted, mail_objects, features, domains = side_by_side(
        lambda: directory.find_users(client, list(dict.fromkeys(list(cloud_selectors) + addresses))),
        lambda: directory.users_by_immutable_id(client, [a.anchor for a in ad_users]),
        lambda: directory.deleted_users(client),
        lambda: directory.mail_objects(client, addresses),
        lambda: directory.sync_features(client),
        lambda: directory.read_domains(client))
    active = {}
    for user in list(lookup.found.values()) + [u for users in lookup.ambiguous.values() for u in users]:
        active[user["id"]] = user
    for user in anchored:
        active[user["id"]] = user
    if features is None:
        warnings.append("could not read the tenant's directory sync features (the app needs "
                        "OnPremDirectorySynchronization.Read.All): the plan assumes Microsoft's defaults")
    tenant = sync.TenantFacts(features or {}, domains.initial, domains.verified, now if now is not None else time.time(),
                              federated_domains=domains.federated)
    objects = cloud_users.read_cloud_users(client, list(active.values()), deleted)
    objects += [sync.cloud_object_of(o, kind=kind) for kind, o in mail_objects]
    world = sync.World(objects, tenant)
    found, problems, refused = {}, {}, {}
    for selector in cloud_selectors:
        if selector in lookup.found:
            found[selector] = world.get(lookup.found[selector]["id"])
        elif selector in lookup.ambiguous:
            problems[selector] = "matches several cloud users (%s); name one by object id" % ", ".join(
                sorted(u.get("userPrincipalName") or u["id"] for u in lookup.ambiguous[selector]))
        else:
            resolve_deleted(selector, directory.match_deleted(deleted, selector), world, found, problems, refused)
    return CloudFacts(world, found, problems, warnings, refused)


def resolve_deleted(selector, matches, world, found, problems, refused):
    """A selector naming no active user: a soft-deleted user counts as declared only when named by
    its object id (issue 26).  By UPN or address it may be a departed person's account whose
    name a new hire now carries; restoring it would hand that account over, so the link is
    blocked until a person names the account itself."""
    by_id = [m for m in matches if (m.get("id") or "").lower() == selector.lower()]
    if by_id and world.get(by_id[0]["id"]) is not None:
        found[selector] = world.get(by_id[0]["id"])
    elif matches:
        names = ", ".join("%s (%s)" % (m.get("userPrincipalName") or m["id"], m["id"])
                          for m in sorted(matches, key=lambda m: m["id"]))
        refused[selector] = {
            "rule": "soft-deleted-by-name",
            "reason": "cloud %s names no active user, only soft-deleted %s; a soft-deleted account is restored only "
                      "when the link names it by object id" % (selector, names),
            "way_out": "name it by object id to restore it on purpose: %s" % "; or ".join(
                "cloud: %s" % m["id"] for m in sorted(matches, key=lambda m: m["id"])),
            "source": "Restore or remove a recently deleted user; syncfix.entra (issue 26)"}
    else:
        problems[selector] = "no active or soft-deleted cloud user has this UPN, object id or SMTP address"


def backup_dir_problem(result, backup_dir):
    """Why the plan's purges could not keep their records, or None (issue 26, finding 11): a run
    that can't finish writes nothing, so a purge's backup folder is checked before any plan is
    returned - in check mode too - not after the first write."""
    planned = rows.purges(result)
    if not planned:
        return None
    what = "the plan purges %d cloud user(s) (%s)" % (len(planned), ", ".join(item["user"] for item in planned))
    if not backup_dir:
        return "%s and backup_dir is not set: purges need a private folder for their records (backup_dir)" % what
    problem = folder_problem(backup_dir)
    if problem:
        return "%s, and backup_dir %s can't hold their records: %s; purges need a private folder for their records " \
               "(backup_dir)" % (what, backup_dir, problem)
    return None

# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the hard-match rules (``_rules.hard_match``) need to know, read from Graph in bulk.
Internal to this collection: not a public API.

The cloud users are looked up first; only the users whose value would change cost further
reads: the directory roles of every one of them (a stamp and a clear alike need a role
holder's own opt-in, and a PRIVILEGED one is refused either way: issue 26), and for stamps the
holders of each value, the soft-deleted users and the tenant's sync features.  Returns plain facts and raises GraphError; it knows
nothing of Ansible options.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._rules import lookup_failure
from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError
from ansible_collections.syncfix.entra.plugins.module_utils._graph.federated_upn import temporary_upn
from ansible_collections.syncfix.entra.plugins.module_utils._rules.hard_match import UserFacts


class HardMatchFacts:
    """Everything the rules need for one run."""

    def __init__(self, users, holders=None, roles=None, domains=None, features=None):
        self.users = users  # {selector: Graph user}
        self.holders = holders or {}  # {immutable id: [holder, ...]}, soft-deleted ones marked
        self.roles = roles or {}  # {user id: {"active": [...], "eligible": [...]}}
        self.role_names = {}  # {role definition id: displayName}, read when somebody holds a role
        self.domains = domains or directory.Domains([])
        self.stranded = {}  # {selector: temporary UPN} of users an earlier run left there
        self.items = []  # the requests whose user was found
        self.skipped = None  # the LookupDecision of selectors left out, if any
        # None: the app may not read them (unknown, not "all off").
        self.features = features

    def user(self, selector):
        """The UserFacts of a selector's cloud user: a role held or eligible for counts the same."""
        graph_user = self.users[selector]
        held = self.roles.get(graph_user["id"], {})
        return UserFacts(graph_user, held.get("active", []) + held.get("eligible", []), self.domains.federated,
                         role_names=self.role_names)

    def user_principal_name(self, selector):
        graph_user = self.users[selector]
        return graph_user.get("userPrincipalName") or graph_user.get("id")

    def holders_of(self, immutable_id):
        return self.holders.get(immutable_id, ())


class UnknownUsers(InputError):
    """Users given that name no cloud user, or several; found before anything is written."""


def lookup_unknown(lookup):
    """``[(selector, why)]`` for each selector that names no cloud user, or several."""
    unknown = [(s, "no cloud user has this UPN, object id or SMTP address") for s in lookup.missing]
    unknown += [(s, "matches several cloud users (%s); name one by object id" % ", ".join(
        u.get("userPrincipalName") for u in found)) for s, found in lookup.ambiguous.items()]
    return unknown


def _not_under_its_upn(item, lookup):
    """A stamp whose UPN selector found nobody, or a user under another UPN (by SMTP address):
    its user may be stranded on a temporary UPN."""
    found = lookup.found.get(item.selector) or {}
    return bool(item.desired) and "@" in item.selector and \
        (found.get("userPrincipalName") or "").lower() != item.selector.lower()


def find_stranded(client, items, lookup):
    """``{selector: temporary UPN}`` for federated UPNs whose user an earlier run left on
    ``<name>@<initial domain>``: federated_upn_workaround set the value but could not move the
    UPN back.  The user there that already holds the requested value is that user, whether the
    selector found it by its SMTP address or found nobody."""
    domains = directory.read_domains(client)
    if not (domains.initial and domains.federated):
        return {}, domains
    candidates = dict((temporary_upn(i.selector, domains.initial).lower(), i) for i in items
                      if _not_under_its_upn(i, lookup) and i.selector.rsplit("@", 1)[1].lower() in domains.federated)
    stranded = {}
    if candidates:
        for temporary, user in directory.find_users(client, list(candidates)).found.items():
            item = candidates[temporary.lower()]
            if (user.get("userPrincipalName") or "").lower() == temporary.lower() and \
                    user.get("onPremisesImmutableId") == item.desired:
                lookup.found[item.selector] = user
                if item.selector in lookup.missing:
                    lookup.missing.remove(item.selector)
                stranded[item.selector] = user["userPrincipalName"]
    return stranded, domains


def gather_facts(client, items, lookup_failure_action=lookup_failure.FAIL):
    """Find the cloud users of ``items`` (ImmutableIdRequests), then read, in bulk, what the
    rules need for the users that would change.  Unknown selectors raise UnknownUsers, or with
    ``lookup_failure_action`` warn/ignore are left out: ``facts.items`` are the ones found and
    ``facts.skipped`` the LookupDecision."""
    lookup = directory.find_users(client, [i.selector for i in items])
    stranded, domains = ({}, None)
    if any(_not_under_its_upn(i, lookup) for i in items):
        stranded, domains = find_stranded(client, items, lookup)
    skipped = None
    unknown = lookup_unknown(lookup)
    if unknown:
        skipped = lookup_failure.decide(lookup_failure_action, unknown,
                                        fix="name the user by UPN, object id or SMTP address")
        if skipped.failed:
            raise UnknownUsers("unknown users, nothing was changed: " + skipped.summary())
        items = [i for i in items if i.selector in lookup.found]
    users = lookup.found
    writes = [i for i in items if users[i.selector].get("onPremisesImmutableId") != i.desired]
    stamps = [i for i in writes if i.desired is not None]
    facts = HardMatchFacts(users, features={})
    facts.items, facts.skipped = items, skipped
    facts.stranded = stranded
    if domains is None and writes:
        # Stamps may need the UPN moved; clears are refused on a federated UPN.
        domains = directory.read_domains(client)
    if domains is not None:
        facts.domains = domains
    if stamps:
        facts.features = directory.sync_features(client)
        facts.holders = directory.anchor_holders(client, [i.desired for i in stamps])
        # A soft-deleted holder counts: a hard match would restore it instead.
        for deleted in directory.deleted_users(client):
            if deleted.get("onPremisesImmutableId") in facts.holders:
                facts.holders[deleted["onPremisesImmutableId"]].append(dict(deleted, deleted=True))
    if writes:
        # Clears too: "state=absent force=true" on a Global Administrator was cleared before
        # (issue 26), though a privileged user's link is never changed by a task.
        facts.roles = directory.role_holdings(client, [users[i.selector]["id"] for i in writes])
        if any(ids for kinds in facts.roles.values() for ids in kinds.values()):
            facts.role_names = directory.role_names(client)
    return facts

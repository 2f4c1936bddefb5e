# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""entra_immutable_id's backend: what the hard-match rules (``_rules.hard_match``) need to know,
read from Graph in bulk, each user's ItemPlan from the rules' decision, and the writes (one
``$batch`` for the plain ones, the UPN move for a federated UPN).  Internal to this collection:
not a public API.

The cloud users are looked up first; only the users whose value would change cost further
reads: the directory roles of every one of them (a stamp and a clear alike need a role
holder's own opt-in, and a PRIVILEGED one is refused either way: issue 26), and for stamps the
holders of each value, the soft-deleted users and the tenant's sync features.  The cloud users
are the engine model's CloudObjects (``_graph.cloud_users``, the reader link_plan uses too), and
the rules get their facts from ``_sync.prediction.user_facts``.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._rules import lookup_failure
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError, SyncfixError
from ansible_collections.syncfix.entra.plugins.module_utils._rules.hard_match import (
    describe, fact_warnings, parse_items, plan_immutable_id,
)
from ansible_collections.syncfix.entra.plugins.module_utils._sync.prediction import user_facts
from ansible_collections.syncfix.entra.plugins.module_utils._graph import cloud_users, directory
from ansible_collections.syncfix.entra.plugins.module_utils._graph.federated_upn import (
    UpnNotMovedBack, apply_federated, temporary_upn,
)
from ansible_collections.syncfix.entra.plugins.module_utils._module.base import describe_error
from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import ItemPlan
from ansible_collections.syncfix.entra.plugins.module_utils._module.item_specs import (
    IMMUTABLE_ID_ITEM, item_opt_in, single_item,
)

ATTRIBUTE = "onPremisesImmutableId"


class HardMatchFacts:
    """Everything the rules need for one run."""

    def __init__(self, users, holders=None, domains=None, features=None):
        self.users = users  # {selector: CloudObject}, with the roles of the users that would change
        self.holders = holders or {}  # {immutable id: [holder, ...]}, soft-deleted ones marked
        self.domains = domains or directory.Domains([])
        self.stranded = {}  # {selector: temporary UPN} of users an earlier run left there
        self.items = []  # the requests whose user was found
        self.skipped = None  # the LookupDecision of selectors left out, if any
        # None: the app may not read them (unknown, not "all off").
        self.features = features

    def user(self, selector):
        """The UserFacts of a selector's cloud user: a role held or eligible for counts the same."""
        return user_facts(self.users[selector], self.domains.federated)

    def user_principal_name(self, selector):
        cloud = self.users[selector]
        return cloud.upn or cloud.id

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
    found = lookup.found
    writes = [i for i in items if found[i.selector].get("onPremisesImmutableId") != i.desired]
    stamps = [i for i in writes if i.desired is not None]
    facts = HardMatchFacts({}, features={})
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
    # The roles of every user that would change - clears too: "state=absent force=true" on a
    # Global Administrator was cleared before (issue 26), though a privileged user's link is
    # never changed by a task.
    by_id = dict((user["id"], user) for user in found.values())
    read = dict((cloud.id, cloud) for cloud in cloud_users.read_cloud_users(
        client, list(by_id.values()), with_roles=[found[i.selector]["id"] for i in writes]))
    facts.users = dict((selector, read[user["id"]]) for selector, user in found.items())
    return facts


# -- the plans and the writes ---------------------------------------------------------------------

class StampBatch:
    """The writes that need no UPN move, sent as one $batch when the first write of the run is
    applied; each item's write then reads its own outcome from it."""

    def __init__(self, client):
        self.client = client
        self.patches = []
        self.outcome = None

    def add(self, user_id, immutable_id, label):
        self.patches.append((user_id, {ATTRIBUTE: immutable_id}, label))

    def send(self):
        if self.outcome is None:
            self.outcome = {}
            if self.patches:
                # A failed envelope is settled by reading the users back: each write is then
                # either done or untouched, never reported by guess.
                self.outcome = dict(directory.patch_users_settled(self.client, self.patches, "set " + ATTRIBUTE))
        return self.outcome

    def raise_outcome(self, label):
        error = self.send().get(label)
        if error is not None:
            raise error


def plan_item(entra, item, decision, initial_domain, batch):
    """One user's ItemPlan from the rules' decision: a batched write, or the federated UPN move."""
    if decision.changed and not decision.move_upn:
        batch.add(decision.user.id, decision.desired, item.selector)

    def write(plan):
        batch.send()  # the batch goes first, whichever item is applied first
        if not decision.move_upn:
            batch.raise_outcome(item.selector)
            return
        try:
            apply_federated(entra.graph, decision.user, decision.desired, initial_domain, item.selector)
        except UpnNotMovedBack:
            plan.partial = True
            raise
        plan.msg = "set %s (UPN moved to %s and back)" % (ATTRIBUTE, initial_domain)

    return ItemPlan(item.selector, describe(decision.user.immutable_id), describe(decision.desired),
                    changed=decision.changed, refusal=decision.refusal, apply=write, fields=dict(id=decision.user.id),
                    action="%s %s" % ("clear" if decision.desired is None else "set", ATTRIBUTE))


def read_requests(entra):
    """The requested items and the facts the rules need; fails the task before any write."""
    try:
        items = parse_items(single_item(entra.params, "users", IMMUTABLE_ID_ITEM), entra.params["state"],
                            entra.params["allow_opaque_anchor"])
        facts = gather_facts(entra.graph, items, entra.params["lookup_failure_action"])
    except InputError as e:  # bad options or unknown users: the message says it all
        entra.fail_error(e)
    except SyncfixError as e:
        entra.fail_error(e, "%s; nothing was changed" % describe_error(e))
    if facts.skipped is not None:
        entra.skip_unknown(facts.skipped)
    return facts.items, facts


def finish_move_back(entra, item, user, temporary):
    """An earlier run set the value but left the federated user on ``temporary`` (``user``, its
    CloudObject): move it back."""
    def write(plan):
        directory.patch_user(entra.graph, user.id, {"userPrincipalName": item.selector},
                             "move UPN back to %s" % item.selector, item.selector)

    value = describe(user.immutable_id)
    return ItemPlan(item.selector, dict(value, user_principal_name=temporary),
                    dict(value, user_principal_name=item.selector), changed=True, apply=write,
                    action="move UPN back from %s (an earlier run set %s but could not move it back)" % (
                        temporary, ATTRIBUTE), fields=dict(id=user.id))


def plan_items(entra, items, facts):
    """One ItemPlan per item, after warning of what could not be checked."""
    params = entra.params
    # Each item's own opt-ins, else the module-level ones (issue 26: one link's opt-in never
    # reaches another link of the same chunk).
    decisions = [plan_immutable_id(facts.user(item.selector), item.desired, facts.holders_of(item.desired),
                                   item_opt_in(item.opt_ins, params, "force"),
                                   item_opt_in(item.opt_ins, params, "federated_upn_workaround"), facts.features,
                                   item.object_guid, item_opt_in(item.opt_ins, params, "allow_role_holder"))
                 for item in items]
    for warning in fact_warnings(decisions, facts.features):
        entra.warn(warning)
    if any(decision.move_upn for decision in decisions) and not facts.domains.initial:
        entra.fail("the tenant's initial onmicrosoft.com domain was not found in /domains; cannot move UPNs")
    batch = StampBatch(entra.graph)
    return [finish_move_back(entra, item, facts.users[item.selector], facts.stranded[item.selector])
            if item.selector in facts.stranded else plan_item(entra, item, decision, facts.domains.initial, batch)
            for item, decision in zip(items, decisions)]

#!/usr/bin/python
# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ad_proxy_addresses
short_description: Manage the proxyAddresses and mail of AD users, contacts and groups (soft match)
version_added: 0.1.0
description:
  - Adds, removes or sets the C(proxyAddresses) of Active Directory objects over LDAP, and
    keeps C(mail) equal to the primary SMTP address. Aligning the on-premises primary SMTP
    address with a cloud user's is how Entra Connect soft-matches them.
  - The case of the prefix matters - C(SMTP:) is the primary address, C(smtp:) a secondary
    one - and a change of primary is sent as one atomic delete and add. The result never has
    zero or two primary SMTP addresses on a mail-enabled object.
  - Every value is checked with the IdFix rules before anything is written, for every
    object of the run. Only the values that differ are sent.
extends_documentation_fragment:
  - syncfix.entra.ad
attributes:
  check_mode:
    support: full
    description: Reads the objects and reports the change; sends no modify operation.
  diff_mode:
    support: full
    description: Shows each object's proxyAddresses and mail before and after, sorted, one per line.
  platform:
    support: full
    platforms: [active_directory]
    description: Runs on the controller and talks LDAP to a domain controller.
options:
  object:
    description:
      - The AD user, contact or group - by distinguished name, objectGUID, UPN, mail or
        SMTP address, a prefixed proxy address, or sAMAccountName. A lookup that matches
        several objects fails and lists them.
      - Mutually exclusive with O(objects).
    type: str
  addresses:
    description:
      - Proxy addresses written exactly, with their prefix - V(SMTP:ann@contoso.com) for the
        primary, V(smtp:ann@contoso.com) for a secondary, V(X500:/o=...), V(SIP:...).
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) adds the addresses, or rewrites them where only the case differs.
      - V(absent) removes them, whatever their case.
      - V(exact) makes C(proxyAddresses) hold exactly O(addresses).
    type: str
    choices: [present, absent, exact]
    default: present
  primary:
    description:
      - Make this SMTP address the primary (added if missing); the old primary stays as a
        secondary C(smtp:) address. Applied after O(state).
    type: str
  update_mail:
    description:
      - Keep C(mail) equal to the primary SMTP address after the change.
    type: bool
    default: true
  allow_primary_removal:
    description:
      - Allow removing the current primary SMTP address altogether. Another address must
        become primary (O(primary)), unless no SMTP address remains. The removed value is
        returned in RV(results[].before).
    type: bool
    default: false
  forest_unique:
    description:
      - Refuse to add an SMTP address that another AD object already holds (in
        C(proxyAddresses) or C(mail)), naming it. AD itself does not enforce this; Entra
        does, and quarantines the duplicate.
    type: bool
    default: false
  objects:
    description: Several objects in one run; each item takes the per-object options.
    type: list
    elements: dict
    suboptions:
      object:
        description: As O(object).
        type: str
        required: true
      addresses:
        description: As O(addresses).
        type: list
        elements: str
        default: []
      state:
        description: As O(state); left out, the module's O(state).
        type: str
        choices: [present, absent, exact]
      primary:
        description: As O(primary).
        type: str
seealso:
  - module: syncfix.entra.ad_source_anchor
author:
  - syncfix.entra contributors (@syncfix)
"""

EXAMPLES = r"""
- name: Align the new VP's primary SMTP with her pre-created cloud mailbox (soft match)
  syncfix.entra.ad_proxy_addresses:
    server: [dc1.contoso.com, dc2.contoso.com]
    bind_dn: svc-syncfix@contoso.com
    bind_password: "{{ vault_ad_password }}"
    object: vp
    primary: vp@contoso.com
    forest_unique: true

- name: Many objects in one run, connection set once
  module_defaults:
    group/syncfix.entra.ad:
      server: [ldaps://dc1.contoso.com]
      bind_dn: CONTOSO\svc-syncfix
      bind_password: "{{ vault_ad_password }}"
  block:
    - name: Add aliases and remove an old domain
      syncfix.entra.ad_proxy_addresses:
        objects:
          - object: ann@contoso.com
            addresses: [smtp:ann.lee@contoso.com]
          - object: CN=Sales,OU=Groups,DC=contoso,DC=com
            addresses: [smtp:sales@old-contoso.com]
            state: absent
      diff: true
"""

RETURN = r"""
results:
  description: One entry per object, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The object as given.
      type: str
      sample: vp
    dn:
      description: Its distinguished name.
      type: str
      sample: CN=VP,OU=Staff,DC=contoso,DC=test
    changed:
      description: Whether the object was (or in check mode would be) modified.
      type: bool
      sample: true
    before:
      description: C(proxyAddresses) (sorted) and C(mail) before.
      type: dict
      sample: {"proxyAddresses": ["SMTP:vp@contoso.local"], "mail": "vp@contoso.local"}
    after:
      description: C(proxyAddresses) (sorted) and C(mail) after.
      type: dict
      sample: {"proxyAddresses": ["SMTP:vp@contoso.com", "smtp:vp@contoso.local"], "mail": "vp@contoso.com"}
    modification:
      description: The exact values deleted and added, and the new mail, as sent in one modify.
      type: dict
      sample: {"delete": ["SMTP:vp@contoso.local"], "add": ["SMTP:vp@contoso.com", "smtp:vp@contoso.local"],
               "mail": "vp@contoso.com"}
    msg:
      description: What was done, or why not.
      type: str
      sample: modified
    failed:
      description: Present and true when this item failed.
      type: bool
      sample: true
ldap_operations:
  description: Counts of LDAP searches and modify operations sent.
  returned: when a domain controller was contacted
  type: dict
  sample: {"searches": 2, "modifies": 1}
"""

from ansible_collections.syncfix.entra.plugins.module_utils import ad_objects
from ansible_collections.syncfix.entra.plugins.module_utils.ad_module import ADModule
from ansible_collections.syncfix.entra.plugins.module_utils.ldap_client import (
    RESULT_ATTRIBUTE_OR_VALUE_EXISTS, RESULT_NO_SUCH_ATTRIBUTE, LdapError,
)
from ansible_collections.syncfix.entra.plugins.module_utils.proxy_address import (
    ProxyAddress, ProxyAddressError, plan_proxy_addresses, sorted_values,
)

ITEM_SPEC = dict(
    object=dict(type="str", required=True),
    addresses=dict(type="list", elements="str", default=[]),
    state=dict(type="str", choices=["present", "absent", "exact"]),
    primary=dict(type="str"),
)


def single(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value or None


class Request:
    def __init__(self, identity, addresses, state, primary):
        self.identity = identity
        self.addresses = addresses
        self.state = state
        self.primary = primary


class ObjectPlan:
    """The proxyAddresses plan of one object plus the mail value to write, if any."""

    def __init__(self, request, entry, params):
        self.entry = entry
        current = entry["attributes"].get("proxyAddresses") or []
        self.mail_before = single(entry["attributes"].get("mail"))
        self.proxy = plan_proxy_addresses(current, request.addresses, state=request.state, primary=request.primary,
                                          allow_primary_removal=params["allow_primary_removal"])
        primary = self.proxy.primary_address
        # With no primary left (every SMTP address removed) mail is left as it is, not cleared.
        self.mail_after = primary if params["update_mail"] and primary else self.mail_before

    @property
    def changed(self):
        return self.proxy.changed or self.mail_after != self.mail_before

    def changes(self):
        changes = {}
        operations = self.proxy.change.operations()
        if operations:
            changes["proxyAddresses"] = operations
        if self.mail_after != self.mail_before:
            changes["mail"] = [("replace", [self.mail_after] if self.mail_after else [])]
        return changes

    def state(self, after):
        return {"proxyAddresses": sorted_values((self.proxy.after if after else self.proxy.before).values),
                "mail": self.mail_after if after else self.mail_before}


def parse_requests(params):
    raw = params["objects"] if params["objects"] is not None else [
        dict(object=params["object"], addresses=params["addresses"], state=None, primary=params["primary"])]
    requests, problems, seen = [], [], set()
    for entry in raw:
        identity = (entry.get("object") or "").strip()
        if not identity:
            problems.append("an item has no object")
            continue
        if identity.lower() in seen:
            problems.append("%s: listed twice" % identity)
        seen.add(identity.lower())
        try:
            addresses = [ProxyAddress.parse(a).value for a in entry.get("addresses") or []]
        except ProxyAddressError as e:
            problems.append("%s: %s" % (identity, e))
            continue
        requests.append(Request(identity, addresses, entry.get("state") or params["state"], entry.get("primary")))
    if problems:
        raise ValueError("invalid input, nothing was changed: " + "; ".join(problems))
    return requests


def uniqueness_refusals(connection, plans):
    """Added SMTP addresses that other AD objects hold, per object label."""
    wanted = {}
    for label, plan in plans:
        for value in plan.proxy.change.add:
            address = ProxyAddress.parse(value)
            if address.is_smtp and not plan.proxy.before.find(address):
                wanted.setdefault(value, []).append((label, plan))
    refusals = {}
    holders = ad_objects.holders_of(connection, list(wanted))
    for value, owners in wanted.items():
        for label, plan in owners:
            others = [dn for dn in holders.get(value, []) if dn.lower() != plan.entry["dn"].lower()]
            if others:
                refusals.setdefault(label, []).append("%s is already held by %s (forest_unique)" % (
                    value, ", ".join(sorted(others))))
    return dict((label, "; ".join(reasons)) for label, reasons in refusals.items())


def main():
    ad = ADModule(
        argument_spec=dict(
            object=dict(type="str"),
            addresses=dict(type="list", elements="str", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent", "exact"]),
            primary=dict(type="str"),
            update_mail=dict(type="bool", default=True),
            allow_primary_removal=dict(type="bool", default=False),
            forest_unique=dict(type="bool", default=False),
            objects=dict(type="list", elements="dict", options=ITEM_SPEC),
        ),
        mutually_exclusive=[["object", "objects"], ["objects", "primary"]],
        required_one_of=[["object", "objects"]],
        supports_check_mode=True,
    )
    params = ad.params
    try:
        requests = parse_requests(params)
    except ValueError as e:
        ad.fail(str(e))

    found = ad.find_objects([r.identity for r in requests])
    connection = ad.connection

    plans, refusals = [], {}
    for request in requests:
        try:
            plans.append((request.identity, ObjectPlan(request, found[request.identity], params)))
        except ProxyAddressError as e:
            refusals[request.identity] = str(e)
    if params["forest_unique"] and not refusals:
        try:
            refusals.update(uniqueness_refusals(connection, plans))
        except LdapError as e:
            ad.fail("%s; nothing was changed" % e)
    if refusals:
        results = [dict(item=r.identity, dn=found[r.identity]["dn"], changed=False,
                        failed=r.identity in refusals, msg=refusals.get(r.identity, "not attempted"))
                   for r in requests]
        ad.exit_bulk(results)

    results = []
    for label, plan in plans:
        results.append(dict(item=label, dn=plan.entry["dn"], changed=plan.changed, before=plan.state(False),
                            after=plan.state(True),
                            modification=dict(plan.proxy.change.to_dict(), mail=plan.mail_after),
                            msg="modified" if plan.changed else "already as requested"))
    diff = dict(
        before="".join("%s\n%s" % (p.entry["dn"], _lines(p.state(False))) for label, p in plans if p.changed),
        after="".join("%s\n%s" % (p.entry["dn"], _lines(p.state(True))) for label, p in plans if p.changed),
    )
    if ad.check_mode:
        ad.exit_bulk(results, diff=diff)

    by_label = dict((r["item"], r) for r in results)
    requests_by_label = dict((r.identity, r) for r in requests)
    for label, plan in plans:
        if not plan.changed:
            continue
        result = by_label[label]
        try:
            apply_plan(connection, plan, requests_by_label[label], params, result)
        except (LdapError, ProxyAddressError) as e:
            result.update(failed=True, changed=False, after=result["before"], msg=str(e))
    ad.exit_bulk(results, diff=diff)


def apply_plan(connection, plan, request, params, result):
    """Send the modify; if AD changed underneath (16/20), re-read, re-plan once and send again."""
    try:
        connection.modify(plan.entry["dn"], plan.changes())
        return
    except LdapError as e:
        if e.code not in (RESULT_NO_SUCH_ATTRIBUTE, RESULT_ATTRIBUTE_OR_VALUE_EXISTS):
            raise
    fresh = list(connection.search("(objectClass=*)", ad_objects.BASE_ATTRIBUTES, base=plan.entry["dn"], scope="base"))
    if not fresh:
        raise LdapError("%s disappeared while it was being modified" % plan.entry["dn"])
    replanned = ObjectPlan(request, fresh[0], params)
    result.update(before=replanned.state(False), after=replanned.state(True),
                  modification=dict(replanned.proxy.change.to_dict(), mail=replanned.mail_after),
                  msg="modified after re-reading (the object changed while it was planned)")
    if replanned.changed:
        connection.modify(replanned.entry["dn"], replanned.changes())
    else:
        result.update(changed=False, msg="already as requested after re-reading")


def _lines(state):
    lines = ["  proxyAddresses: %s\n" % value for value in state["proxyAddresses"]]
    lines.append("  mail: %s\n" % state["mail"])
    return "".join(lines)


if __name__ == "__main__":
    main()

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
  - Every value to be written is checked with the IdFix rules before anything is written, for
    every object of the run. Only the values that differ are sent.
  - Removing a value is always allowed, even one that fails the IdFix rules (spaces, invalid
    characters) or one in an C(*.onmicrosoft.com) domain - removing it is the fix. Adding such a
    value, or making it the primary, is refused.
  - An SMTP address in an C(*.onmicrosoft.com) domain (any case) is refused - Entra manages
    those addresses itself and its proxy calculation discards them from on-premises
    C(proxyAddresses) (Microsoft Learn, "How the proxyAddresses attribute is populated in
    Microsoft Entra ID"), so writing one changes nothing in the cloud.
  - Values are written as spelled in the task. O(primary=vp@contoso.com) on an object holding
    C(smtp:VP@contoso.com) writes C(SMTP:vp@contoso.com) and C(mail) V(vp@contoso.com); a
    case-only difference is a change once, and the next run reports no change.
extends_documentation_fragment:
  - syncfix.entra.ad
  - syncfix.entra.lookup
attributes:
  check_mode:
    support: full
    description: Reads the objects and reports the change; sends no modify operation.
  diff_mode:
    support: full
    description: Per changed object, keyed by its DN, its C(proxyAddresses) (sorted) and C(mail), before and after.
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
      - V(present) adds the addresses, or rewrites them to the spelling given where only the
        case differs.
      - V(absent) removes them, whatever their case.
      - V(exact) makes C(proxyAddresses) hold exactly O(addresses), spelled as given. Values of other types it
        removes (C(X500:), C(SIP:), ...) are named in the item's RV(results[].msg); an
        C(X500:) value often keeps replies to old mail working, so list the ones to keep.
    type: str
    choices: [present, absent, exact]
    default: present
  primary:
    description:
      - Make this SMTP address the primary (added if missing), spelled as given - a held
        address in another case is rewritten; the old primary stays as a secondary C(smtp:)
        address. Applied after O(state).
      - Left out, the primary is changed only by what O(addresses) and O(state) do.
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
notes:
  - "AD rights of the bind account: read the objects, and Write Property on C(proxyAddresses)
    and C(mail) of the objects it changes (Account Operators, or a delegation on their OU);
    O(forest_unique) also reads C(proxyAddresses) and C(mail) across the naming context."
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
      description:
        - The exact values deleted and added, and the new mail, as sent (or in check mode, to be sent) in one modify.
        - Absent on an item refused because its request breaks a proxyAddresses rule.
      type: dict
      sample: {"delete": ["SMTP:vp@contoso.local"], "add": ["SMTP:vp@contoso.com", "smtp:vp@contoso.local"],
               "mail": "vp@contoso.com"}
    msg:
      description:
        - What was done (C(modify proxyAddresses), C(modify proxyAddresses and mail), C(set mail)),
          what would be done in check mode (C(would ...)), C(already as requested), or why not.
        - When another item was refused, what this one would have done and that nothing was written.
      type: str
      sample: modify proxyAddresses and mail
    failed:
      description: Present and true when this item failed.
      type: bool
      sample: true
    error:
      description:
        - What went wrong, for a playbook to branch on - kind (refused, input, graph, ldap, auth) and
          the service's code, status or LDAP result.
      returned: when this item failed
      type: dict
      sample: {"kind": "refused", "message": "smtp:vp@contoso.com is already held by CN=Ann,OU=Staff,DC=contoso,DC=com (forest_unique)"}
    found:
      description: False for a selector that named no object and was skipped (O(lookup_failure_action=warn) or V(ignore)).
      returned: when the item was skipped
      type: bool
      sample: false
error:
  description:
    - What stopped the whole task before any write, for a playbook to branch on - kind (input, ldap)
      and the LDAP result. A failed item carries its own RV(results[].error).
  returned: when the options could not be used or AD could not be read
  type: dict
  sample: {"kind": "ldap", "message": "dc1.contoso.com: invalid credentials (49)", "result": 49}
ldap_operations:
  description: Counts of LDAP searches and modify operations sent.
  returned: when a domain controller was contacted
  type: dict
  sample: {"searches": 2, "modifies": 1}
"""

from ansible_collections.syncfix.entra.plugins.module_utils._rules.lookup_failure import lookup_failure_spec
from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import converge
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError
from ansible_collections.syncfix.entra.plugins.module_utils._module.item_specs import PROXY_ADDRESS_ITEM, item_spec, single_item
from ansible_collections.syncfix.entra.plugins.module_utils._backends.ad_proxy_addresses import plan_objects
from ansible_collections.syncfix.entra.plugins.module_utils._module.ad_module import ADModule
from ansible_collections.syncfix.entra.plugins.module_utils._ldap.client import LdapError
from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import parse_requests


def diff_entry(plan, side):
    """Per changed object (by DN): its proxyAddresses, sorted, and mail."""
    state = getattr(plan, side)
    return plan.fields["dn"], {"proxyAddresses": sorted(state["proxyAddresses"]), "mail": state["mail"]}


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
            objects=dict(type="list", elements="dict", options=item_spec(PROXY_ADDRESS_ITEM)),
            **lookup_failure_spec()
        ),
        mutually_exclusive=[["object", "objects"], ["objects", "primary"]],
        required_one_of=[["object", "objects"]],
        supports_check_mode=True,
    )
    try:
        requests = parse_requests(single_item(ad.params, "objects", PROXY_ADDRESS_ITEM), ad.params["state"])
    except InputError as e:
        ad.fail_error(e)
    found = ad.find_objects([request.identity for request in requests])
    requests = [request for request in requests if request.identity in found]
    try:
        plans = plan_objects(ad.connection, requests, found, ad.params)
    except LdapError as e:
        ad.fail_error(e, "%s; nothing was changed" % e)
    converge(ad, plans, diff_entry)


if __name__ == "__main__":
    main()

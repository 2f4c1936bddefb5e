#!/usr/bin/python
# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ad_sync_scope
short_description: Take AD users out of the Entra Connect or Cloud Sync scope and bring them back
version_added: 0.1.0
description:
  - Takes Active Directory users out of the scope of the sync engine, and brings them back
    exactly as they were. Leaving the scope and coming back is how an AD user is detached from
    the cloud user it is joined to - for example to remove a resiliency duplicate, or to
    re-anchor a user - because the engine matches an object only when it is new to it.
  - With O(method=admin_description) (the default), V(excluded) writes
    C(User_syncfix:<previous value>) into C(adminDescription); Entra Connect's default rule
    skips users whose C(adminDescription) starts with C(User_). The previous value is kept in
    the object itself, so V(included) restores it exactly, and clears the attribute when there
    was none.
  - With O(method=ou), V(excluded) moves the user into O(parking_ou), an OU the engine's OU
    filter leaves out, and records the original parent OU in O(record_path) and in
    RV(results[].record). V(included) moves it back there, or to O(target_ou).
  - Every object is looked up and every item checked before anything is written. An unknown or
    ambiguous object, an object named twice, or a refusal fails the task and writes nothing.
extends_documentation_fragment:
  - syncfix.entra.ad
  - syncfix.entra.lookup
attributes:
  check_mode:
    support: full
    description:
      - Reads the users (and the record file) and reports the change; writes nothing to AD or
        to O(record_path).
  diff_mode:
    support: full
    description:
      - Per changed object, keyed by its DN, C(adminDescription) with O(method=admin_description)
        or where it lives (C(dn)) with O(method=ou), before and after; an unset value is left out.
  platform:
    support: full
    platforms: [active_directory]
    description: Runs on the controller and talks LDAP to a domain controller.
options:
  object:
    description:
      - The AD user, by distinguished name, objectGUID, UPN, mail, proxy address or
        sAMAccountName. A name that matches several objects fails and lists them.
      - Mutually exclusive with O(objects); one of the two is required.
    type: str
  objects:
    description:
      - Several users in one run, each C({object, state}) - the shape C(syncfix.entra.link_plan)
        emits for this module.
      - Naming one user twice, even through two different names (sAMAccountName and DN), fails
        the task naming both.
    type: list
    elements: dict
    suboptions:
      object:
        description: As O(object).
        type: str
        required: true
      state:
        description: As O(state). Left out, the module's O(state); if that is left out too, the task fails.
        type: str
        choices: [excluded, included]
  state:
    description:
      - V(excluded) takes the users out of the sync scope; V(included) brings them back.
      - Required with O(object). With O(objects), the state of items that have none; left out,
        every item must carry its own.
    type: str
    choices: [excluded, included]
  method:
    description:
      - V(admin_description) uses C(adminDescription) and Connect's default scoping filter
        (see the notes).
      - V(ou) moves the users into O(parking_ou) and back.
      - The same method must be used for the way out and the way back.
    type: str
    choices: [admin_description, ou]
    default: admin_description
  force:
    description:
      - With O(method=admin_description) and O(state=included), clear an C(adminDescription)
        starting with C(User_) that this module did not write (someone else took the user out of
        scope on purpose). Left false, such a user is refused, naming the value, and nothing is
        written.
      - V(excluded) never touches such a value; the user is already out (C(changed=false)).
    type: bool
    default: false
  parking_ou:
    description:
      - The DN of the OU users are parked in, outside the engine's OU filter (Connect's
        "Domain and OU filtering", or the Cloud Sync scoping). It must exist.
      - Required with O(method=ou), for both states - a user is parked when its parent is this
        OU. Not allowed with O(method=admin_description).
    type: str
  target_ou:
    description:
      - With O(method=ou) and O(state=included), the OU to move users back to, for every item,
        instead of the one recorded in O(record_path).
      - Left out, each user goes back to its recorded OU; a parked user without a record is
        refused and nothing is written.
    type: str
  record_path:
    description:
      - With O(method=ou), a JSON file on the controller that keeps, per objectGUID, the
        original DN, parent OU and time of each move out. Created if missing, mode C(0600),
        written before the first move (so a failed run still leaves the record) and updated
        after the moves; a user brought back is removed from it.
      - Written under a temporary name and renamed into place (never through a symbolic link),
        synced to disk before the move it records. Refused before anything is read, in check
        mode too, when the path is a symbolic link or its folder is one, is owned by another
        user, or can be written by others (group or world writable, such as C(/tmp)).
      - Left out, the original OU is only returned in RV(results[].record); bringing the users
        back then needs O(target_ou).
    type: path
notes:
  - "AD rights of the bind account: Write Property on C(adminDescription) of the users
    (O(method=admin_description)); for O(method=ou), move rights - Delete Child on the source
    OU and Create Child on the parking OU - as a move is a rename (modify DN)."
  - The C(adminDescription) rule is the scoping filter of Entra Connect's default inbound
    synchronization rule "In from AD - User Join" (C(adminDescription NOTSTARTSWITH User_), as
    the Synchronization Rules Editor shows it). It is a default - admins can edit or remove that
    filter, and then O(method=admin_description) does not take anyone out of scope. Check the
    rule on your Connect server.
  - Entra Cloud Sync does not use Connect's rules; it has its own scoping filters (per
    configuration, by OU or by attribute). O(method=ou) works only if O(parking_ou) is outside
    the configured OUs; O(method=admin_description) works only if a scoping filter excludes
    C(adminDescription) values starting with C(User_) (or C(User_syncfix:)).
  - Leaving the scope is not harmless. On the next sync the engine deletes the cloud user it had
    joined to the AD user ("Configure filtering" - objects that are filtered out "are deleted in
    Microsoft Entra ID"). It is soft-deleted for 30 days and its DirSyncEnabled is switched to
    False. Coming back, the AD user is new to the engine and is matched again - hard match on
    its source anchor (which restores that soft-deleted user), else soft match, else a new cloud
    user.
  - Run a sync cycle (M(syncfix.entra.adsync_cycle)) after each direction for the change to
    reach the cloud.
  - C(in_scope) in RV(results[].before) and RV(results[].after) says what this module's
    controls show - C(adminDescription) and, with O(method=ou), O(parking_ou) - not what the
    engine's OU filter, which the module cannot read, decides.
seealso:
  - module: syncfix.entra.adsync_cycle
  - module: syncfix.entra.entra_user_purge
  - module: syncfix.entra.ad_source_anchor
author:
  - syncfix.entra contributors (@syncfix)
"""

EXAMPLES = r"""
- name: Take the VP out of the sync scope (Connect's default adminDescription rule)
  syncfix.entra.ad_sync_scope:
    server: [dc1.contoso.com]
    bind_dn: svc-syncfix@contoso.com
    bind_password: "{{ vault_ad_password }}"
    object: vp
    state: excluded

- name: Bring her back; the previous adminDescription is restored exactly
  syncfix.entra.ad_sync_scope:
    server: [dc1.contoso.com]
    bind_dn: svc-syncfix@contoso.com
    bind_password: "{{ vault_ad_password }}"
    object: vp
    state: included

- name: The moves a link plan asks for, connection set once
  module_defaults:
    group/syncfix.entra.ad:
      server: [ldaps://dc1.contoso.com]
      bind_dn: CONTOSO\svc-syncfix
      bind_password: "{{ vault_ad_password }}"
  block:
    - name: Park users in an OU the Cloud Sync configuration leaves out
      syncfix.entra.ad_sync_scope:
        method: ou
        parking_ou: OU=Sync Parking,DC=contoso,DC=com
        record_path: /var/lib/syncfix/sync-scope.json
        objects:
          - object: CN=VP,OU=Staff,DC=contoso,DC=com
            state: excluded
          - object: ann@contoso.com
            state: excluded
      diff: true

    - name: Later, move them back to where they were
      syncfix.entra.ad_sync_scope:
        method: ou
        parking_ou: OU=Sync Parking,DC=contoso,DC=com
        record_path: /var/lib/syncfix/sync-scope.json
        state: included
        objects:
          - object: vp
          - object: ann@contoso.com
"""

RETURN = r"""
results:
  description: One entry per user, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The user as given.
      type: str
      sample: vp
    dn:
      description: Its distinguished name when the run started.
      type: str
      sample: CN=VP,OU=Staff,DC=contoso,DC=com
    changed:
      description: Whether the user was (or in check mode would be) modified or moved.
      type: bool
      sample: true
    before:
      description:
        - C(in_scope) as this module's controls show it (see the notes), C(admin_description)
          (null when empty) and C(dn), before.
      type: dict
      sample: {"in_scope": true, "admin_description": null, "dn": "CN=VP,OU=Staff,DC=contoso,DC=com"}
    after:
      description: The same, after (in check mode, as it would be).
      type: dict
      sample: {"in_scope": false, "admin_description": "User_syncfix:", "dn": "CN=VP,OU=Staff,DC=contoso,DC=com"}
    record:
      description:
        - With O(method=ou) and O(state=excluded), for a user moved out - its objectGUID, the
          original DN and parent OU, and the time (UTC). Keep it when there is no O(record_path).
      returned: when a user is moved out
      type: dict
      sample: {"guid": "3ab39606-c642-489b-84b6-58c038d3ef39", "dn": "CN=VP,OU=Staff,DC=contoso,DC=com",
               "parent": "OU=Staff,DC=contoso,DC=com", "time": "2026-11-20T10:15:02Z"}
    msg:
      description: What was done, or why not.
      type: str
      sample: set adminDescription 'User_syncfix:' (previous value none recorded in it)
    failed:
      description: Present and true when this item failed.
      type: bool
      sample: true
    error:
      description: What went wrong, for a playbook to branch on - kind (refused, input, graph, ldap, auth) and the
        service's code, status or LDAP result.
      returned: when this item failed.
      type: dict
      sample: {"kind": "ldap", "message": "move of CN=VP,OU=Staff,DC=contoso,DC=com failed: ...", "result": 50}
    found:
      description: False for a selector that named no object and was skipped (O(lookup_failure_action=warn) or V(ignore)).
      returned: when the item was skipped
      type: bool
      sample: false
error:
  description: Why the task failed before any item was written - kind (input, ldap) and the LDAP result.
  returned: when the task failed before planning, for example on an unknown object
  type: dict
  sample: {"kind": "input", "message": "unknown objects, nothing was changed: nobody: no AD user has this name"}
record_path:
  description: The record file, when O(record_path) was given.
  returned: with O(record_path)
  type: str
  sample: /var/lib/syncfix/sync-scope.json
ldap_operations:
  description: Counts of LDAP searches, modify and move (modify DN) operations sent.
  returned: when a domain controller was contacted
  type: dict
  sample: {"searches": 2, "modifies": 1, "moves": 0}
"""

from ansible_collections.syncfix.entra.plugins.module_utils._rules.lookup_failure import lookup_failure_spec
from ansible_collections.syncfix.entra.plugins.module_utils._rules import sync_scope as scope
from ansible_collections.syncfix.entra.plugins.module_utils._backends import ad_sync_scope as writes
from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import converge
from ansible_collections.syncfix.entra.plugins.module_utils._module.ad_module import ADModule
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import AnchorError
from ansible_collections.syncfix.entra.plugins.module_utils._ldap.client import LdapError

ITEM_SPEC = dict(
    object=dict(type="str", required=True),
    state=dict(type="str", choices=list(scope.STATES)),
)


def diff_entry(item, side):
    return scope.diff_entry(item.scope_plan, side)


def main():
    ad = ADModule(
        argument_spec=dict(
            object=dict(type="str"),
            objects=dict(type="list", elements="dict", options=ITEM_SPEC),
            state=dict(type="str", choices=list(scope.STATES)),
            method=dict(type="str", default="admin_description", choices=list(scope.METHODS)),
            force=dict(type="bool", default=False),
            parking_ou=dict(type="str"),
            target_ou=dict(type="str"),
            record_path=dict(type="path"),
            **lookup_failure_spec()
        ),
        mutually_exclusive=[["object", "objects"]],
        required_one_of=[["object", "objects"]],
        required_if=[["method", "ou", ["parking_ou"]]],
        required_by=dict(object=["state"]),
        supports_check_mode=True,
    )
    params = ad.params
    try:
        scope.check_options(params["method"], params["parking_ou"], params["target_ou"], params["record_path"])
        requests = scope.parse_requests(params["object"], params["objects"], params["state"])
        records = writes.load_record_file(params["record_path"])
    except scope.ScopeError as e:
        ad.fail(str(e))
    found = ad.find_objects([r.identity for r in requests], writes.ATTRIBUTES, classes=("user",))
    requests = [r for r in requests if r.identity in found]
    twice = scope.same_object_refusals([(r.identity, found[r.identity]["dn"]) for r in requests])
    if twice:
        ad.fail("one object named twice, nothing was changed: " + "; ".join(twice))
    extra = dict(record_path=params["record_path"]) if params["record_path"] else {}
    try:
        plans = [writes.plan_for(r, writes.facts_of(found[r.identity]), params, records) for r in requests]
        refusals = writes.refusals_of(ad.connection, plans)
    except (AnchorError, scope.ScopeError, LdapError) as e:
        ad.fail("%s; nothing was changed" % e)
    record_file = writes.RecordFile(params["record_path"], records, plans, ad.warn)
    if not ad.check_mode and not refusals:
        try:
            record_file.write_ahead()
        except (IOError, OSError) as e:
            ad.fail("record_path %s can't be written (%s); nothing was changed" % (params["record_path"], e), **extra)
    converge(ad, [writes.item_plan(ad.connection, p, refusals.get(p.item), record_file) for p in plans], diff_entry, **extra)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ad_source_anchor
short_description: Set or clear the mS-DS-ConsistencyGuid of AD users (reverse hard match)
version_added: 0.1.0
description:
  - Writes a cloud user's anchor into an AD user's C(mS-DS-ConsistencyGuid), the attribute
    Entra Connect takes the sourceAnchor from. This is the reverse hard match - when an AD
    user was deleted and recreated (new objectGUID), writing the old anchor makes the new
    object take over its existing cloud identity, mailbox and licenses included.
  - Replacing a different value re-links the AD user to another cloud user and needs
    O(force=true).
extends_documentation_fragment:
  - syncfix.entra.ad
attributes:
  check_mode:
    support: full
    description: Reads the users and reports the change; sends no modify operation.
  diff_mode:
    support: full
    description: "Shows one line per changed user, C(<dn>: <ImmutableId>), before and after."
  platform:
    support: full
    platforms: [active_directory]
    description: Runs on the controller and talks LDAP to a domain controller.
options:
  object:
    description:
      - The AD user, by distinguished name, objectGUID, UPN, mail, proxy address or
        sAMAccountName. Mutually exclusive with O(objects).
    type: str
  immutable_id:
    description:
      - The anchor as Entra shows it (C(onPremisesImmutableId), Base64 of 16 bytes).
      - With O(state=present) exactly one of O(immutable_id) and O(guid) is needed.
    type: str
  guid:
    description: The anchor as a GUID (the old objectGUID of the deleted AD user).
    type: str
  state:
    description: V(present) writes the value; V(absent) clears the attribute.
    type: str
    choices: [present, absent]
    default: present
  force:
    description: Replace a different value the user already has. The old one is returned in RV(results[].before).
    type: bool
    default: false
  objects:
    description: Several users in one run.
    type: list
    elements: dict
    suboptions:
      object:
        description: As O(object).
        type: str
        required: true
      immutable_id:
        description: As O(immutable_id).
        type: str
      guid:
        description: As O(guid).
        type: str
      state:
        description: As O(state); left out, the module's O(state).
        type: str
        choices: [present, absent]
seealso:
  - module: syncfix.entra.entra_immutable_id
  - plugin: syncfix.entra.from_immutable_id
    plugin_type: filter
author:
  - syncfix.entra contributors (@syncfix)
"""

EXAMPLES = r"""
- name: The recreated AD account takes over the cloud identity of the deleted one
  syncfix.entra.ad_source_anchor:
    server: [dc1.contoso.com]
    bind_dn: svc-syncfix@contoso.com
    bind_password: "{{ vault_ad_password }}"
    object: jdoe
    immutable_id: "{{ cloud_user.onPremisesImmutableId }}"

- name: Clear a wrong anchor
  syncfix.entra.ad_source_anchor:
    server: [dc1.contoso.com]
    bind_dn: svc-syncfix@contoso.com
    bind_password: "{{ vault_ad_password }}"
    object: CN=John Doe,OU=Staff,DC=contoso,DC=com
    state: absent
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
      sample: jdoe
    dn:
      description: Its distinguished name.
      type: str
      sample: CN=John Doe,OU=Staff,DC=contoso,DC=com
    changed:
      description: Whether the attribute was (or in check mode would be) written.
      type: bool
      sample: true
    before:
      description: The value before, as GUID and ImmutableId, or nulls when empty.
      type: dict
      sample: {"guid": null, "immutable_id": null}
    after:
      description: The value after, as GUID and ImmutableId.
      type: dict
      sample: {"guid": "3ab39606-c642-489b-84b6-58c038d3ef39", "immutable_id": "BpazOkLGm0iEtljAONPvOQ=="}
    msg:
      description: What was done, or why not.
      type: str
      sample: set mS-DS-ConsistencyGuid
    failed:
      description: Present and true when this item failed.
      type: bool
      sample: true
ldap_operations:
  description: Counts of LDAP searches and modify operations sent.
  returned: when a domain controller was contacted
  type: dict
  sample: {"searches": 1, "modifies": 1}
"""

from ansible_collections.syncfix.entra.plugins.module_utils.ad_module import ADModule
from ansible_collections.syncfix.entra.plugins.module_utils.anchor import AnchorError, SourceAnchor
from ansible_collections.syncfix.entra.plugins.module_utils.ldap_client import LdapError

ATTRIBUTE = "mS-DS-ConsistencyGuid"
ITEM_SPEC = dict(
    object=dict(type="str", required=True),
    immutable_id=dict(type="str"),
    guid=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"]),
)


def describe(anchor):
    if anchor is None:
        return {"guid": None, "immutable_id": None}
    return {"guid": str(anchor.guid), "immutable_id": anchor.immutable_id}


def parse_requests(params):
    """``[(identity, SourceAnchor or None)]``; raises ValueError naming every bad item."""
    raw = params["objects"] if params["objects"] is not None else [
        dict(object=params["object"], immutable_id=params["immutable_id"], guid=params["guid"], state=None)]
    requests, problems, seen = [], [], set()
    for entry in raw:
        identity = (entry.get("object") or "").strip()
        state = entry.get("state") or params["state"]
        given = [name for name in ("immutable_id", "guid") if entry.get(name)]
        try:
            if not identity:
                raise ValueError("object is required")
            if identity.lower() in seen:
                raise ValueError("listed twice")
            seen.add(identity.lower())
            if state == "absent":
                if given:
                    raise ValueError("state=absent clears the value; remove %s" % ", ".join(given))
                requests.append((identity, None))
                continue
            if len(given) != 1:
                raise ValueError("state=present needs exactly one of immutable_id, guid")
            if given[0] == "guid":
                anchor = SourceAnchor.from_guid(entry["guid"])
            else:
                # mS-DS-ConsistencyGuid holds 16 bytes: an opaque anchor cannot be written into it.
                anchor = SourceAnchor.from_immutable_id(entry["immutable_id"], allow_opaque=False)
            requests.append((identity, anchor))
        except (AnchorError, ValueError) as e:
            problems.append("%s: %s" % (identity or "(no object)", e))
    if problems:
        raise ValueError("invalid input, nothing was changed: " + "; ".join(problems))
    return requests


def current_anchor(entry):
    raw = entry["raw"].get(ATTRIBUTE)
    raw = raw[0] if isinstance(raw, list) and raw else raw
    if not raw:
        return None
    try:
        return SourceAnchor.from_bytes(raw)
    except AnchorError:
        raise ValueError("%s of %s holds %d bytes, not a GUID; clear it with state=absent first" % (
            ATTRIBUTE, entry["dn"], len(raw)))


def main():
    ad = ADModule(
        argument_spec=dict(
            object=dict(type="str"),
            immutable_id=dict(type="str"),
            guid=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            force=dict(type="bool", default=False),
            objects=dict(type="list", elements="dict", options=ITEM_SPEC),
        ),
        mutually_exclusive=[["object", "objects"], ["immutable_id", "guid"], ["objects", "immutable_id"],
                            ["objects", "guid"]],
        required_one_of=[["object", "objects"]],
        supports_check_mode=True,
    )
    params = ad.params
    try:
        requests = parse_requests(params)
    except ValueError as e:
        ad.fail(str(e))

    found = ad.find_objects([identity for identity, anchor in requests], [ATTRIBUTE], classes=("user",))
    connection = ad.connection

    results, refused = [], False
    for identity, desired in requests:
        entry = found[identity]
        result = dict(item=identity, dn=entry["dn"])
        try:
            before = current_anchor(entry)
        except ValueError as e:
            before = None
            result.update(failed=True, msg=str(e))
        changed = before != desired
        if not result.get("failed") and changed and before is not None and desired is not None and not params["force"]:
            result.update(failed=True, msg="%s already holds anchor %s (%s); replacing it with %s re-links this user to "
                                           "another cloud user. Set force: true to replace it" % (
                                               entry["dn"], before.immutable_id, before.guid, desired.immutable_id))
        refused = refused or result.get("failed", False)
        result.update(changed=changed and not result.get("failed"), before=describe(before),
                      after=describe(desired if changed else before),
                      msg=result.get("msg") or ("%s %s" % ("clear" if desired is None else "set", ATTRIBUTE)
                                                if changed else "already as requested"))
        results.append((result, desired))
    plain = [r for r, d in results]
    if refused:
        for result in plain:
            result["changed"] = False
            result["after"] = result["before"]
        ad.exit_bulk(plain)
    diff = dict(before="".join(sorted("%s: %s\n" % (r["dn"], r["before"]["immutable_id"]) for r in plain if r["changed"])),
                after="".join(sorted("%s: %s\n" % (r["dn"], r["after"]["immutable_id"]) for r in plain if r["changed"])))
    if ad.check_mode:
        ad.exit_bulk(plain, diff=diff)
    for result, desired in results:
        if not result["changed"]:
            continue
        try:
            connection.modify(result["dn"], {ATTRIBUTE: [("replace", [desired.raw] if desired else [])]})
        except LdapError as e:
            result.update(failed=True, changed=False, after=result["before"], msg=str(e))
    ad.exit_bulk(plain, diff=diff)


if __name__ == "__main__":
    main()

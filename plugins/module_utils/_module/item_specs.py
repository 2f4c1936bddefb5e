# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The per-item options of the list-taking modules, declared once.  Internal to this
collection: not a public API.

``link_plan`` emits its actions as exactly these items, so a plan row can be handed to the
module that carries it out unchanged.  ``single_item`` turns a module's single-item options
into the same shape, so one code path handles ``object:`` and ``objects:``.

Opt-ins are per item (issue 26): an item's ``force``, ``allow_data_loss`` and the like unlock
that item alone; left out (None), the module-level option of the same name applies.  A plan's
items carry their own opt-ins, so one link's opt-in never reaches another link in the same
chunk.
"""

import copy

# ad_source_anchor objects[]
AD_ANCHOR_ITEM = dict(
    object=dict(type="str", required=True),
    immutable_id=dict(type="str"),
    consistency_guid=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"]),
    force=dict(type="bool"),
)

# ad_proxy_addresses objects[]
PROXY_ADDRESS_ITEM = dict(
    object=dict(type="str", required=True),
    addresses=dict(type="list", elements="str", default=[]),
    state=dict(type="str", choices=["present", "absent", "exact"]),
    primary=dict(type="str"),
)

# entra_immutable_id users[]
IMMUTABLE_ID_ITEM = dict(
    user=dict(type="str", required=True),
    immutable_id=dict(type="str"),
    object_guid=dict(type="str"),
    consistency_guid=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"]),
    force=dict(type="bool"),
    federated_upn_workaround=dict(type="bool"),
    allow_role_holder=dict(type="bool"),
)

# entra_user_purge users[]
USER_REMOVAL_ITEM = dict(
    user=dict(type="str", required=True),
    state=dict(type="str", choices=["deleted", "purged", "restored"]),
    new_user_principal_name=dict(type="str"),
    mail_from_sync=dict(type="bool", default=False),
    allow_data_loss=dict(type="bool"),
    allow_role_holder_removal=dict(type="bool"),
)


def item_opt_in(item, params, name):
    """An item's own opt-in ``name``, else the module-level option of that name (False when the
    module has none)."""
    value = item.get(name)
    return bool(params.get(name)) if value is None else bool(value)


def item_spec(spec):
    """A copy to put in an argument spec (AnsibleModule may annotate what it is given)."""
    return copy.deepcopy(spec)


def single_item(params, list_option, spec):
    """The items of a run: ``params[list_option]``, or the single-item options as one item
    whose ``state`` is left to the module-level default."""
    if params.get(list_option) is not None:
        return list(params[list_option])
    item = dict((name, params.get(name)) for name in spec)
    item["state"] = None
    return [item]

# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Cloud users as the engine model has them (``_sync.prediction.CloudObject``), read from Graph
in bulk with the directory roles each holds: the one reader of cloud users and their roles for
link_plan's and entra_immutable_id's backends.  Internal to this collection: not a public API.

Roles cost a few requests whatever the number of users (``directory.role_holdings``: the
tenant's grants once, the role-assignable groups' members once), and the role names one more,
only when somebody holds a role.  Raises GraphError; it knows nothing of Ansible options.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._sync import prediction as sync
from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory


def model_roles(holdings, names=None):
    """One user's ``role_holdings`` entry as the model's roles, each named by its displayName
    (its id when unknown; role definition ids compared without case)."""
    names = names or {}
    lowered = dict((key.lower(), value) for key, value in names.items() if key)
    return [{"template_id": role_id, "name": names.get(role_id) or lowered.get(role_id.lower()) or role_id,
             "assignment": kind}
            for kind in ("active", "eligible") for role_id in holdings.get(kind, [])]


def read_roles(client, user_ids, active_ids=None):
    """``{user id: [role, ...]}`` (``model_roles``) for ``user_ids``; ``active_ids``: those that
    are not soft-deleted (only they can be members of a role-assignable group), all when None."""
    user_ids = list(dict.fromkeys(user_ids))
    if not user_ids:
        return {}
    holdings = directory.role_holdings(client, user_ids, active_ids=active_ids)
    held = any(ids for kinds in holdings.values() for ids in kinds.values())
    names = directory.role_names(client) if held else {}
    return dict((user_id, model_roles(holdings.get(user_id, {}), names)) for user_id in user_ids)


def read_cloud_users(client, active, deleted=(), with_roles=None):
    """CloudObjects of the Graph users ``active`` and the soft-deleted ``deleted``, in that order,
    each with its directory roles; ``with_roles``: the ids whose roles are read (every one when
    None; the others get none)."""
    ids = [user["id"] for user in active] + [user["id"] for user in deleted]
    wanted = set(ids if with_roles is None else with_roles)
    active_ids = [user["id"] for user in active if user["id"] in wanted]
    roles = read_roles(client, [i for i in ids if i in wanted], active_ids=active_ids)
    return ([sync.cloud_object_of(user, roles=roles.get(user["id"])) for user in active]
            + [sync.cloud_object_of(user, deleted=True, roles=roles.get(user["id"])) for user in deleted])

# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Stamping an immutable id on a user whose UPN is on a federated domain.
Internal to this collection: not a public API.

Graph refuses a new immutable id while the UPN is on a federated domain ("Update user",
onPremisesImmutableId), so the UPN is moved to the tenant's initial onmicrosoft.com domain,
the value is set, and the UPN is moved back; if setting the value fails, the UPN is restored.

No password is sent with the move: "Update user" says passwordProfile "can't be used for
federated users" (the password MSOnline's Set-MsolUserPrincipalName wanted for this move is
not Graph's rule), and app-only it would also need the User Administrator role.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphError


class UpnNotMovedBack(GraphError):
    """The immutable id was set, but moving the UPN back failed: the write landed in part."""


def temporary_upn(upn, initial_domain):
    return "%s@%s" % (upn.rsplit("@", 1)[0], initial_domain)


def apply_federated(client, user, immutable_id, initial_domain, label):
    """Move ``user``'s UPN to ``initial_domain``, set ``immutable_id``, move the UPN back.

    ``user`` is the UserFacts of the cloud user.  If setting the value fails, the UPN is
    restored; if restoring fails too, both failures are reported, with the UPN the user was
    left with.  If only the move back fails, UpnNotMovedBack says so.
    """
    temporary = temporary_upn(user.upn, initial_domain)
    move_back = {"userPrincipalName": user.upn}
    directory.patch_user(client, user.id, {"userPrincipalName": temporary}, "move UPN to the initial domain", label)
    try:
        directory.patch_user(client, user.id, {"onPremisesImmutableId": immutable_id}, "set onPremisesImmutableId",
                             label)
    except GraphError as stamp_error:
        try:
            directory.patch_user(client, user.id, move_back, "restore UPN %s" % user.upn, label)
        except GraphError as restore_error:
            raise GraphError(stamp_error.status, stamp_error.code, "%s; restoring the UPN failed too, so the user is "
                             "left as %s: %s" % (stamp_error.message, temporary, restore_error.describe()),
                             stamp_error.request_id, stamp_error.operation, label)
        raise
    try:
        directory.patch_user(client, user.id, move_back, "move UPN back to %s" % user.upn, label)
    except GraphError as error:
        raise UpnNotMovedBack(error.status, error.code, "%s; onPremisesImmutableId was set, but the user is left as %s: "
                              "move its UPN back to %s" % (error.message, temporary, user.upn),
                              error.request_id, error.operation, error.target)

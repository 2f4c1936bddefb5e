"""Which AD users the engine synchronises: the sync scope.

Two controls, as admins use them:
- OU filtering ("Microsoft Entra Connect Sync: Configure filtering", domain and OU-based
  filtering): only the OUs registered as ``scope`` with ``PUT /_lab/ad`` are read
  (``ad_source.read_users``).
- Connect's default inbound rule for users skips a user whose ``adminDescription`` starts
  with ``User_``. Lab's assumption: no Microsoft Learn page we found states this filter; it is
  the scoping filter the Synchronization Rules Editor shows on Connect's out-of-box user rules
  (``adminDescription NOTSTARTSWITH User_``), the one admins set to take a user out of sync.
  The comparison ignores case, as the rule editor's string operators do (also an assumption).

Leaving the scope is documented in "Configure filtering": "any objects in Microsoft Entra ID
that were previously synchronized but were then filtered are deleted in Microsoft Entra ID"
(soft-deleted for 30 days, "Microsoft Entra Connect Sync: Enable the recycle bin"), and the
engine forgets the object: coming back it is new to the engine and matched again. The
soft-deleted user's DirSyncEnabled "is switched to False" ("Understanding errors during
Microsoft Entra synchronization", InvalidHardMatch).
"""

from __future__ import annotations

EXCLUDED_ADMIN_DESCRIPTION_PREFIX = "user_"


def excluded_by_admin_description(user) -> bool:
    return (user.admin_description or "").lower().startswith(EXCLUDED_ADMIN_DESCRIPTION_PREFIX)


def in_scope(user) -> bool:
    """The rules applied after the OU-filtered read."""
    return not excluded_by_admin_description(user)

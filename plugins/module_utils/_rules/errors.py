# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One error base for every adapter, so one path turns any failure into a failed task or a
failed item.  Internal to this collection: not a public API.

Every error says what went wrong in its message (the object, the operation, what the directory
said and the next step) and carries ``details()``: a small dict a playbook or the role can
branch on (``kind`` plus the service's own code, HTTP status, request id or LDAP result).
"""


class SyncfixError(Exception):
    """Base of every error the adapters and rules raise on purpose."""

    kind = "syncfix"

    def details(self):
        return {"kind": self.kind, "message": str(self)}


class InputError(SyncfixError, ValueError):
    """Options that can't be used as given; found before anything is read or written."""

    kind = "input"


def error_details(error):
    """``details()`` of any exception: ours carry their own, others their type and text."""
    if isinstance(error, SyncfixError):
        return error.details()
    return {"kind": "unexpected", "type": type(error).__name__, "message": str(error)}

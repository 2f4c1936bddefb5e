# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base of modules that talk to Microsoft Graph only: ``SyncfixModule`` with the Graph
connection options (see ``_module.base``)."""

from ansible_collections.syncfix.entra.plugins.module_utils._module.base import SyncfixModule, describe_error


class EntraModule(SyncfixModule):
    """A module with the Graph connection options; ``client`` is the Graph client."""

    def __init__(self, argument_spec=None, **kwargs):
        super(EntraModule, self).__init__(argument_spec, directories=("graph",), **kwargs)

    @property
    def client(self):
        return self.graph


def graph_failure_message(error):
    """The text for a failed task from a GraphError or AuthError."""
    return describe_error(error)

# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base of modules that talk to AD only: ``SyncfixModule`` with the LDAP connection
options (see ``_module.base``)."""

from ansible_collections.syncfix.entra.plugins.module_utils._ldap import objects as ad_objects
from ansible_collections.syncfix.entra.plugins.module_utils._module.base import SyncfixModule


class ADModule(SyncfixModule):
    """A module with the LDAP connection options; ``connection`` is the bound connection."""

    def __init__(self, argument_spec=None, **kwargs):
        super(ADModule, self).__init__(argument_spec, directories=("ad",), **kwargs)

    @property
    def connection(self):
        return self.ad

    def find_objects(self, identities, attributes=(), classes=ad_objects.OBJECT_CLASSES):
        return self.find_ad_objects(identities, attributes, classes)

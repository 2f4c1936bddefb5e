# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Jinja filters over the source-anchor codec; their docs live in the .yml files beside this."""

import uuid

from ansible.errors import AnsibleFilterError

from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import AnchorError, SourceAnchor


def to_immutable_id(value):
    """GUID text, uuid or the 16 stored bytes -> the ImmutableId (Base64)."""
    try:
        if isinstance(value, (bytes, bytearray)):
            return SourceAnchor.from_bytes(value).immutable_id
        if isinstance(value, uuid.UUID):
            return SourceAnchor.from_guid(value).immutable_id
        return SourceAnchor.from_guid(str(value)).immutable_id
    except AnchorError as e:
        raise AnsibleFilterError("syncfix.entra.to_immutable_id: %s" % e)


def from_immutable_id(value):
    """The ImmutableId (Base64 of a GUID) -> lowercase GUID text."""
    try:
        return str(SourceAnchor.from_immutable_id(str(value), allow_opaque=False).guid)
    except AnchorError as e:
        raise AnsibleFilterError("syncfix.entra.from_immutable_id: %s" % e)


def source_anchor(value):
    """Any spelling -> a dict with every spelling (kind, immutable_id, guid, hex, connector_dn)."""
    try:
        if isinstance(value, (bytes, bytearray, uuid.UUID)):
            return SourceAnchor.parse(value).to_dict()
        return SourceAnchor.parse(str(value)).to_dict()
    except AnchorError as e:
        raise AnsibleFilterError("syncfix.entra.source_anchor: %s" % e)


class FilterModule:
    def filters(self):
        return {
            "to_immutable_id": to_immutable_id,
            "from_immutable_id": from_immutable_id,
            "source_anchor": source_anchor,
        }

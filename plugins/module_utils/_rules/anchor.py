# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Source-anchor codec: one value, every spelling Entra and AD use for it.

An on-premises user and its Entra user are linked by the *sourceAnchor*, which Graph calls
``onPremisesImmutableId``.  Entra Connect (since 1.1.524) takes it from
``mS-DS-ConsistencyGuid``, or from ``objectGUID`` when that is empty, and Base64-encodes the
16 bytes AD stores.  AD stores a GUID in .NET ``Guid.ToByteArray()`` order: the first three
fields little-endian, the last two as written ("Microsoft Entra Connect: Design concepts",
section "Using ms-DS-ConsistencyGuid as sourceAnchor").

The spellings handled here:

* GUID text ``3ab39606-c642-489b-84b6-58c038d3ef39`` (any case, braces optional);
* the 16 raw bytes of ``objectGUID`` / ``mS-DS-ConsistencyGuid``;
* the ImmutableId, Base64 of those bytes: ``BpazOkLGm0iEtljAONPvOQ==``;
* hex of the raw bytes, as LDAP tools print it: ``0696B33A42C69B4884B658C038D3EF39``;
* the Entra Connect connector-space DN, ``CN={hex of the ASCII Base64}``.

Some organisations chose another sourceAnchor (an employee number, a UPN); such *opaque*
ImmutableIds are accepted as strings and reported as not being GUIDs.

No I/O and no Ansible imports: this module is pure domain code.
"""

import base64
import binascii
import re
import uuid
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError

GUID_BYTES = 16

# "Microsoft Graph: user resource type", onPremisesImmutableId:
# "The $ and _ characters can't be used when specifying this property."
GRAPH_FORBIDDEN_IMMUTABLE_ID_CHARACTERS = "$_"

_GUID_TEXT = re.compile(
    r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$"
)
_HEX_GUID_BYTES = re.compile(r"^[0-9a-fA-F]{32}$")
_CONNECTOR_DN = re.compile(r"^CN=\{([0-9a-fA-F]+)\}$", re.IGNORECASE)
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")

KIND_GUID = "guid"
KIND_OPAQUE = "opaque"


class AnchorError(InputError):
    """A value that cannot be read as a source anchor; the message names the value."""

    def __init__(self, value, expected):
        self.value = value
        self.expected = expected
        super(AnchorError, self).__init__("%r is not %s" % (value, expected))


class SourceAnchor:
    """One source anchor, spelled every way AD, Graph and Entra Connect spell it.

    ``immutable_id`` is always set.  ``guid`` and ``raw`` are set only when the anchor is the
    Base64 of 16 bytes (``kind == 'guid'``); an opaque anchor has ``guid is None``.
    """

    __slots__ = ("immutable_id", "guid")

    def __init__(self, immutable_id, guid=None):
        self.immutable_id = immutable_id
        self.guid = guid

    # -- constructors -------------------------------------------------------------------

    @classmethod
    def from_guid(cls, value):
        """GUID text (braces and case optional) or a ``uuid.UUID``."""
        if isinstance(value, uuid.UUID):
            guid = value
        else:
            match = _GUID_TEXT.match(value.strip()) if isinstance(value, str) else None
            if not match:
                raise AnchorError(
                    value,
                    "a GUID: expected 32 hex digits as 8-4-4-4-12, for example "
                    "3ab39606-c642-489b-84b6-58c038d3ef39 (braces optional)",
                )
            guid = uuid.UUID(match.group(1))
        return cls(_b64(guid.bytes_le), guid)

    @classmethod
    def from_bytes(cls, value):
        """The 16 bytes AD stores in objectGUID or mS-DS-ConsistencyGuid."""
        if not isinstance(value, (bytes, bytearray)) or len(value) != GUID_BYTES:
            length = len(value) if isinstance(value, (bytes, bytearray)) else "no"
            raise AnchorError(
                value,
                "the raw value of objectGUID or mS-DS-ConsistencyGuid: expected exactly "
                "16 bytes, got %s bytes" % length,
            )
        raw = bytes(value)
        return cls(_b64(raw), uuid.UUID(bytes_le=raw))

    @classmethod
    def from_hex(cls, value):
        """Hex of the 16 stored bytes (``0696B33A...``); spaces and ``\\`` separators allowed."""
        cleaned = re.sub(r"[\s\\:-]", "", value) if isinstance(value, str) else ""
        if not _HEX_GUID_BYTES.match(cleaned):
            raise AnchorError(
                value,
                "hex of the 16 stored GUID bytes: expected 32 hex digits such as "
                "0696B33A42C69B4884B658C038D3EF39",
            )
        return cls.from_bytes(binascii.unhexlify(cleaned))

    @classmethod
    def from_immutable_id(cls, value, allow_opaque=True):
        """An ``onPremisesImmutableId``.

        A value that is Base64 of 16 bytes is a GUID anchor.  Anything else Graph would take
        is an opaque anchor, unless ``allow_opaque`` is false, when it is an error that says
        why it is not a GUID anchor.
        """
        if not isinstance(value, str) or not value or value != value.strip():
            raise AnchorError(
                value, "an ImmutableId: expected a non-empty string without surrounding spaces"
            )
        bad = sorted(set(value) & set(GRAPH_FORBIDDEN_IMMUTABLE_ID_CHARACTERS))
        if bad:
            raise AnchorError(
                value,
                "a valid ImmutableId: Microsoft Graph refuses the characters %s in "
                "onPremisesImmutableId" % " and ".join(repr(c) for c in bad),
            )
        raw, why_not = _decode_guid_base64(value)
        if raw is not None:
            return cls(value, uuid.UUID(bytes_le=raw))
        if not allow_opaque:
            raise AnchorError(
                value, "the Base64 ImmutableId of a GUID: %s" % why_not
            )
        return cls(value, None)

    @classmethod
    def requested(cls, value, allow_opaque=False):
        """An ImmutableId someone asks us to write.

        A GUID anchor, or an opaque one only when it is canonical Base64 (what a non-GUID
        sourceAnchor such as an employee number becomes) or ``allow_opaque`` says the odd
        string is meant.  A typo in a GUID anchor (bad padding, non-canonical Base64, spaces)
        would otherwise be written as "opaque" and link nothing; GUID text gets its own hint.
        """
        if isinstance(value, str) and _GUID_TEXT.match(value.strip()):
            raise AnchorError(value, "an ImmutableId but GUID text: give it as object_guid (the AD objectGUID) or "
                                     "consistency_guid (mS-DS-ConsistencyGuid) and the ImmutableId is computed")
        anchor = cls.from_immutable_id(value)
        if anchor.is_guid or allow_opaque or _is_canonical_base64(value):
            return anchor
        dummy, why_not = _decode_guid_base64(value)
        raise AnchorError(value, "a GUID ImmutableId (%s) nor canonical Base64; set allow_opaque_anchor: true only "
                                 "if your sourceAnchor really is this string" % why_not)

    @classmethod
    def from_connector_dn(cls, value):
        """The connector-space DN Entra Connect shows: ``CN={hex of the ASCII Base64}``."""
        match = _CONNECTOR_DN.match(value.strip()) if isinstance(value, str) else None
        hex_digits = match.group(1) if match else ""
        if not match or len(hex_digits) % 2:
            raise AnchorError(
                value,
                "an Entra Connect connector-space DN: expected CN={...} around an even "
                "number of hex digits, such as CN={514635484D4B376E38307176645973555049486139513D3D}",
            )
        try:
            immutable_id = binascii.unhexlify(hex_digits).decode("utf-8")
        except UnicodeDecodeError:
            raise AnchorError(
                value, "an Entra Connect connector-space DN: the hex does not spell UTF-8 text"
            )
        return cls.from_immutable_id(immutable_id)

    @classmethod
    def parse(cls, value, allow_opaque=True):
        """Read any spelling: bytes, ``uuid.UUID``, GUID text, connector DN or ImmutableId.

        Hex is never guessed (32 hex digits are also a valid opaque ImmutableId); use
        ``from_hex`` for it.
        """
        if isinstance(value, (bytes, bytearray)):
            return cls.from_bytes(value)
        if isinstance(value, uuid.UUID):
            return cls.from_guid(value)
        if not isinstance(value, str):
            raise AnchorError(
                value, "a source anchor: expected a GUID, ImmutableId, connector DN or 16 bytes"
            )
        if _GUID_TEXT.match(value.strip()):
            return cls.from_guid(value)
        if _CONNECTOR_DN.match(value.strip()):
            return cls.from_connector_dn(value)
        return cls.from_immutable_id(value, allow_opaque=allow_opaque)

    # -- the other spellings -------------------------------------------------------------

    @property
    def kind(self):
        return KIND_GUID if self.guid is not None else KIND_OPAQUE

    @property
    def is_guid(self):
        return self.guid is not None

    @property
    def raw(self):
        """The 16 bytes to write into mS-DS-ConsistencyGuid, or None for an opaque anchor."""
        return self.guid.bytes_le if self.guid is not None else None

    @property
    def hex(self):
        """Uppercase hex of the stored bytes, or None for an opaque anchor."""
        return binascii.hexlify(self.raw).decode("ascii").upper() if self.is_guid else None

    @property
    def ldap_filter_value(self):
        r"""The stored bytes escaped for an LDAP filter (``(objectGUID=\06\96...)``)."""
        if not self.is_guid:
            return None
        return "".join("\\%02x" % byte for byte in bytearray(self.raw))

    @property
    def connector_dn(self):
        return "CN={%s}" % binascii.hexlify(self.immutable_id.encode("utf-8")).decode("ascii").upper()

    def to_dict(self):
        """Every spelling, for module results."""
        return {
            "kind": self.kind,
            "immutable_id": self.immutable_id,
            "guid": str(self.guid) if self.is_guid else None,
            "hex": self.hex,
            "connector_dn": self.connector_dn,
        }

    def __eq__(self, other):
        return isinstance(other, SourceAnchor) and self.immutable_id == other.immutable_id

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.immutable_id)

    def __repr__(self):
        return "SourceAnchor(%r, guid=%s)" % (self.immutable_id, self.guid)


def _b64(raw):
    return base64.b64encode(raw).decode("ascii")


def _is_canonical_base64(value):
    if len(value) % 4 or not _BASE64.match(value):
        return False
    try:
        return _b64(base64.b64decode(value, validate=True)) == value
    except (binascii.Error, ValueError):
        return False


def _decode_guid_base64(value):
    """Return (16 bytes, None) when ``value`` is canonical Base64 of 16 bytes, else (None, why)."""
    if len(value) % 4 or not _BASE64.match(value):
        return None, "it is not Base64 (only A-Z a-z 0-9 + / and '=' padding, length a multiple of 4)"
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None, "it is not valid Base64"
    if len(raw) != GUID_BYTES:
        return None, "it decodes to %d bytes, a GUID has 16" % len(raw)
    # Non-canonical Base64 (stray low bits before the padding) decodes, but Graph compares the
    # stored string, so such a value would never equal the anchor Entra Connect computes.
    if _b64(raw) != value:
        return None, "it is not the canonical Base64 of its bytes (expected %s)" % _b64(raw)
    return raw, None


def immutable_id_from_guid(value):
    """GUID text, ``uuid.UUID`` or 16 bytes -> ImmutableId (Base64)."""
    if isinstance(value, (bytes, bytearray)):
        return SourceAnchor.from_bytes(value).immutable_id
    return SourceAnchor.from_guid(value).immutable_id


def guid_from_immutable_id(value):
    """ImmutableId (Base64 of a GUID) -> lowercase GUID text; an opaque value is an error."""
    return str(SourceAnchor.from_immutable_id(value, allow_opaque=False).guid)

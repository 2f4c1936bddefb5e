import base64
import uuid

import pytest
from hypothesis import given, strategies as st

from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import (
    AnchorError,
    SourceAnchor,
    guid_from_immutable_id,
    immutable_id_from_guid,
)

# Public vectors (Microsoft Q&A and blog posts converting objectGUID to ImmutableId).
VECTORS = [
    ("3ab39606-c642-489b-84b6-58c038d3ef39", "BpazOkLGm0iEtljAONPvOQ=="),
    ("46e23144-8377-483e-a87e-b6769db62eed", "RDHiRneDPkiofrZ2nbYu7Q=="),
]


@pytest.mark.parametrize("guid,immutable_id", VECTORS)
def test_public_vectors_both_ways(guid, immutable_id):
    assert immutable_id_from_guid(guid) == immutable_id
    assert guid_from_immutable_id(immutable_id) == guid


@pytest.mark.parametrize("spelling", [
    "3ab39606-c642-489b-84b6-58c038d3ef39",
    "3AB39606-C642-489B-84B6-58C038D3EF39",
    "{3ab39606-c642-489b-84b6-58c038d3ef39}",
    " {3AB39606-c642-489B-84b6-58C038D3EF39} ",
])
def test_guid_text_any_case_with_or_without_braces(spelling):
    assert SourceAnchor.from_guid(spelling).immutable_id == "BpazOkLGm0iEtljAONPvOQ=="


def test_bytes_are_dotnet_tobytearray_order():
    anchor = SourceAnchor.from_guid("3ab39606-c642-489b-84b6-58c038d3ef39")
    # First three fields little-endian, the rest as written.
    assert anchor.raw == bytes.fromhex("0696b33a42c69b4884b658c038d3ef39")
    assert anchor.hex == "0696B33A42C69B4884B658C038D3EF39"
    assert SourceAnchor.from_bytes(anchor.raw) == anchor
    assert SourceAnchor.from_hex("06 96 B3 3A 42 C6 9B 48 84 B6 58 C0 38 D3 EF 39") == anchor
    assert anchor.ldap_filter_value == "\\06\\96\\b3\\3a\\42\\c6\\9b\\48\\84\\b6\\58\\c0\\38\\d3\\ef\\39"


def test_connector_space_dn_vector_both_ways():
    dn = "CN={514635484D4B376E38307176645973555049486139513D3D}"
    assert SourceAnchor.from_immutable_id("QF5HMK7n80qvdYsUPIHa9Q==").connector_dn == dn
    assert SourceAnchor.from_connector_dn(dn).immutable_id == "QF5HMK7n80qvdYsUPIHa9Q=="
    assert SourceAnchor.parse(dn.lower().replace("cn=", "CN=")).immutable_id == "QF5HMK7n80qvdYsUPIHa9Q=="


def test_parse_detects_each_spelling():
    anchor = SourceAnchor.from_guid(VECTORS[0][0])
    assert SourceAnchor.parse(anchor.raw) == anchor
    assert SourceAnchor.parse(uuid.UUID(VECTORS[0][0])) == anchor
    assert SourceAnchor.parse(VECTORS[0][0]) == anchor
    assert SourceAnchor.parse(VECTORS[0][1]) == anchor
    assert SourceAnchor.parse(anchor.connector_dn) == anchor


def test_to_dict_lists_every_spelling():
    assert SourceAnchor.parse("BpazOkLGm0iEtljAONPvOQ==").to_dict() == {
        "kind": "guid",
        "immutable_id": "BpazOkLGm0iEtljAONPvOQ==",
        "guid": "3ab39606-c642-489b-84b6-58c038d3ef39",
        "hex": "0696B33A42C69B4884B658C038D3EF39",
        "connector_dn": "CN={4270617A4F6B4C476D306945746C6A414F4E50764F513D3D}",
    }


@pytest.mark.parametrize("value", ["E12345", "ann@contoso.com", "AAAA", "MTIzNDU2Nzg5MDEy"])
def test_opaque_immutable_ids_are_accepted_and_reported(value):
    anchor = SourceAnchor.from_immutable_id(value)
    assert anchor.kind == "opaque" and anchor.guid is None and anchor.raw is None and anchor.hex is None
    assert anchor.to_dict()["guid"] is None
    assert SourceAnchor.from_connector_dn(anchor.connector_dn) == anchor


@pytest.mark.parametrize("value,reason", [
    ("BpazOkLGm0iEtljAONPvOQ=", "not Base64"),             # padding cut off
    ("BpazOkLGm0iEtljAONPvOQ", "not Base64"),
    ("MTIzNDU2Nzg5MDEy", "decodes to 12 bytes"),
    ("BpazOkLGm0iEtljAONPvOR==", "not the canonical Base64"),  # stray low bits
])
def test_guid_required_explains_why_not(value, reason):
    with pytest.raises(AnchorError) as e:
        guid_from_immutable_id(value)
    assert repr(value) in str(e.value) and reason in str(e.value)


@pytest.mark.parametrize("value,forbidden", [("abc$def", "'$'"), ("abc_def", "'_'"), ("a$_b", "'$' and '_'")])
def test_graph_forbidden_characters_refused(value, forbidden):
    with pytest.raises(AnchorError, match="refuses the characters %s" % forbidden.replace("$", r"\$")):
        SourceAnchor.from_immutable_id(value)


@pytest.mark.parametrize("call,value,expected", [
    (SourceAnchor.from_guid, "3ab39606-c642-489b-84b6-58c038d3ef3", "a GUID"),
    (SourceAnchor.from_guid, "3ab39606c642489b84b658c038d3ef39x", "a GUID"),
    (SourceAnchor.from_guid, "zab39606-c642-489b-84b6-58c038d3ef39", "a GUID"),
    (SourceAnchor.from_guid, 42, "a GUID"),
    (SourceAnchor.from_bytes, b"\x00" * 15, "got 15 bytes"),
    (SourceAnchor.from_bytes, "not bytes", "got no bytes"),
    (SourceAnchor.from_hex, "0696B33A", "32 hex digits"),
    (SourceAnchor.from_connector_dn, "CN=ABC", "connector-space DN"),
    (SourceAnchor.from_connector_dn, "CN={ABC}", "even number of hex digits"),
    (SourceAnchor.from_connector_dn, "CN={FF}", "UTF-8"),
    (SourceAnchor.from_immutable_id, "", "non-empty"),
    (SourceAnchor.from_immutable_id, " BpazOkLGm0iEtljAONPvOQ==", "surrounding spaces"),
    (SourceAnchor.from_immutable_id, None, "non-empty string"),
    (SourceAnchor.parse, 3.5, "a source anchor"),
])
def test_malformed_input_raises_one_error_type_naming_the_value(call, value, expected):
    with pytest.raises(AnchorError) as e:
        call(value)
    assert isinstance(e.value, ValueError)
    assert repr(value) in str(e.value)
    assert expected in str(e.value)


@given(st.uuids())
def test_round_trip_every_spelling(guid):
    anchor = SourceAnchor.from_guid(str(guid))
    assert anchor.guid == guid
    assert base64.b64decode(anchor.immutable_id) == guid.bytes_le
    assert SourceAnchor.from_bytes(anchor.raw) == anchor
    assert SourceAnchor.from_hex(anchor.hex) == anchor
    assert SourceAnchor.from_connector_dn(anchor.connector_dn) == anchor
    assert SourceAnchor.from_immutable_id(anchor.immutable_id, allow_opaque=False).guid == guid
    assert SourceAnchor.from_guid("{%s}" % str(guid).upper()) == anchor


@given(st.binary(min_size=16, max_size=16))
def test_round_trip_from_stored_bytes(raw):
    anchor = SourceAnchor.from_bytes(raw)
    assert anchor.raw == raw
    assert SourceAnchor.from_guid(str(anchor.guid)).raw == raw


@given(st.text(alphabet=st.characters(blacklist_characters="$_", blacklist_categories=("Cs",)), min_size=1).filter(
    lambda s: s == s.strip()))
def test_any_string_graph_accepts_round_trips_as_an_anchor(value):
    anchor = SourceAnchor.from_immutable_id(value)
    assert anchor.immutable_id == value
    assert SourceAnchor.from_connector_dn(anchor.connector_dn) == anchor

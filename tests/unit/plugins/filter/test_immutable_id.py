import uuid

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.syncfix.entra.plugins.filter.immutable_id import FilterModule

FILTERS = FilterModule().filters()


def test_filters_are_registered_by_name():
    assert set(FILTERS) == {"to_immutable_id", "from_immutable_id", "source_anchor"}


@pytest.mark.parametrize("value", [
    "3ab39606-c642-489b-84b6-58c038d3ef39",
    "{3AB39606-C642-489B-84B6-58C038D3EF39}",
    uuid.UUID("3ab39606-c642-489b-84b6-58c038d3ef39"),
    bytes.fromhex("0696b33a42c69b4884b658c038d3ef39"),
    bytearray.fromhex("0696b33a42c69b4884b658c038d3ef39"),
])
def test_to_immutable_id_accepts_guid_text_uuid_and_raw_bytes(value):
    assert FILTERS["to_immutable_id"](value) == "BpazOkLGm0iEtljAONPvOQ=="


def test_from_immutable_id_inverts():
    assert FILTERS["from_immutable_id"]("RDHiRneDPkiofrZ2nbYu7Q==") == "46e23144-8377-483e-a87e-b6769db62eed"


@pytest.mark.parametrize("name,value,reason", [
    ("to_immutable_id", "not-a-guid", "a GUID"),
    ("to_immutable_id", b"\x01\x02", "got 2 bytes"),
    ("from_immutable_id", "BpazOkLGm0iEtljAONPvOQ", "not Base64"),
    ("from_immutable_id", "E12345", "Base64"),
    ("source_anchor", "bad$anchor", "refuses the characters '$'"),
])
def test_bad_input_fails_naming_the_filter_and_value(name, value, reason):
    with pytest.raises(AnsibleFilterError) as e:
        FILTERS[name](value)
    message = str(e.value)
    assert message.startswith("syncfix.entra.%s:" % name)
    assert repr(value) in message and reason in message


def test_source_anchor_reports_opaque_anchor():
    assert FILTERS["source_anchor"]("E12345")["kind"] == "opaque"
    assert FILTERS["source_anchor"]("3ab39606-c642-489b-84b6-58c038d3ef39")["immutable_id"] == "BpazOkLGm0iEtljAONPvOQ=="

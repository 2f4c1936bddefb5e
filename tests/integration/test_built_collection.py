import json

GUID = "3ab39606-c642-489b-84b6-58c038d3ef39"


def debug(ansible, expression):
    return ansible("ansible", "localhost", "-m", "ansible.builtin.debug", "-a", "msg={{ %s }}" % expression)


def test_tarball_ships_no_lab_or_tooling(collections_path):
    root = collections_path / "ansible_collections" / "syncfix" / "entra"
    assert (root / "plugins" / "filter" / "immutable_id.py").is_file()
    manifest = json.loads((root / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == "0.1.0"
    shipped = {f["name"] for f in json.loads((root / "FILES.json").read_text())["files"]}
    assert not {name for name in shipped if name.split("/")[0] in ("lab", "tools", ".ci", ".venv", "build")}


def test_to_immutable_id_from_installed_collection(ansible):
    result = debug(ansible, "'%s' | syncfix.entra.to_immutable_id" % GUID)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"msg": "BpazOkLGm0iEtljAONPvOQ=="' in result.stdout


def test_from_immutable_id_inverts(ansible):
    result = debug(ansible, "'%s' | syncfix.entra.to_immutable_id | syncfix.entra.from_immutable_id" % GUID)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"msg": "%s"' % GUID in result.stdout


def test_malformed_guid_fails_the_task_naming_the_value(ansible):
    result = debug(ansible, "'3ab39606-c642-489b-84b6-58c038d3ef3Z' | syncfix.entra.to_immutable_id")
    assert result.returncode != 0
    assert "FAILED" in result.stdout
    assert "'3ab39606-c642-489b-84b6-58c038d3ef3Z' is not a GUID" in result.stdout + result.stderr


def test_filter_docs_render(ansible):
    for name in ("to_immutable_id", "from_immutable_id", "source_anchor"):
        result = ansible("ansible-doc", "-t", "filter", "--json", "syncfix.entra.%s" % name)
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)["syncfix.entra.%s" % name]
        assert doc["doc"]["short_description"] and doc["examples"] and doc["return"]

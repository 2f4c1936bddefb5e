"""The layers of plugins/module_utils hold in the imports (issue 27): each file sits in a
subpackage named for its layer, and imports only from its own layer or the ones below it, so a
rule never reaches for an adapter and an adapter never for a module's backend."""

import ast
import pathlib

MODULE_UTILS = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "module_utils"
PREFIX = "ansible_collections.syncfix.entra.plugins.module_utils."
# Lowest first. A layer's packages may import one another; nothing imports upwards.
LAYERS = (
    ("_rules",),                      # Entra and AD rules, pure: anchor, proxy addresses, hard match, ...
    ("_sync",),                       # the sync engine's model and its prediction, pure
    ("_plan", "_scan"),               # the link planner and the sync-conflict scan, pure
    ("_report",),                     # what people read: report text, the private-file writer
    ("_graph", "_ldap", "_winrm"),    # adapters: the wire to Graph, AD and the Connect server
    ("_module",),                     # the module base, argument specs, the converge engine
    ("_backends",),                   # one per module: what it reads, plans and writes
)
LAYER_OF = dict((package, index) for index, packages in enumerate(LAYERS) for package in packages)
# Pure layers: no network, directory or file-system library.
PURE = ("_rules", "_sync", "_plan", "_scan")
IO_MODULES = ("httpx", "ldap3", "socket", "ssl", "pypsrp", "azure", "tempfile", "shutil")
# ldap3's DN parser and its exception are plain functions of a string (_rules/dn.py).
PURE_PARTS = ("ldap3.utils.dn", "ldap3.core.exceptions")


def sources():
    return sorted(p for p in MODULE_UTILS.rglob("*.py") if p.name != "__init__.py")


def imports(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


def test_no_file_is_left_loose_at_the_top_and_every_package_is_a_layer():
    loose = [p.name for p in MODULE_UTILS.glob("*.py") if p.name != "__init__.py"]
    assert loose == []
    packages = sorted(p.name for p in MODULE_UTILS.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert packages == sorted(LAYER_OF), packages


def test_imports_only_go_down_the_layers():
    upward = []
    for path in sources():
        package = path.relative_to(MODULE_UTILS).parts[0]
        for module, names in imports(path):
            if not module.startswith(PREFIX):
                continue
            target = module[len(PREFIX):].split(".")[0]
            assert target in LAYER_OF, "%s imports %s, which is in no layer" % (path, module)
            if LAYER_OF[target] > LAYER_OF[package]:
                upward.append("%s (%s) imports %s" % (path.relative_to(MODULE_UTILS), package, module))
    assert upward == []


def test_the_pure_layers_do_no_io():
    found = []
    for path in sources():
        if path.relative_to(MODULE_UTILS).parts[0] not in PURE:
            continue
        for module, names in imports(path):
            if module.split(".")[0] in IO_MODULES and module not in PURE_PARTS:
                found.append("%s imports %s" % (path.relative_to(MODULE_UTILS), module))
    assert found == []


def tree_sections():
    """docs/development.md's tree: ``{package: the text of its entry}`` (an entry starts at a
    line naming one or more packages, ``_graph/ _ldap/ _winrm/``, and runs to the next one)."""
    text = (MODULE_UTILS.parents[1] / "docs" / "development.md").read_text(encoding="utf-8")
    tree = text[text.index("## Layers"):text.index("### Adding a module")]
    sections, current = {}, []
    for line in tree.splitlines():
        if line.startswith("_"):
            current = [word.rstrip("/") for word in line.split() if word.startswith("_") and word.endswith("/")]
        for package in current:
            sections[package] = sections.get(package, "") + line + "\n"
    return sections


def test_docs_development_places_every_file():
    """The tree names every file under its layer, so the map stays true."""
    sections = tree_sections()
    missing = [str(path.relative_to(MODULE_UTILS)) for path in sources()
               if path.stem not in sections.get(path.relative_to(MODULE_UTILS).parts[0], "")]
    assert missing == []

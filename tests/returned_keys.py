"""The keys a module returns must be the ones its RETURN block documents: the unit tests check
every result main() gives (module_runner), the integration tests every registered result."""

import ast

import yaml

# Keys Ansible itself gives task results; a module's RETURN documents the others.
ANSIBLE_KEYS = {"changed", "failed", "msg", "diff", "warnings", "deprecations", "invocation", "exception", "skipped",
                "skip_reason", "false_condition", "attempts"}


def undocumented_keys(result, documented, path=""):
    """Every key of ``result`` the RETURN block does not document, as ``a.b[].c`` paths. A
    documented value with ``contains`` is checked inside (a list's dict elements too)."""
    missing = []
    for key, value in result.items():
        spec = documented.get(key)
        if spec is None:
            if not (path == "" and key in ANSIBLE_KEYS):
                missing.append(path + key)
            continue
        for element in (value if isinstance(value, list) else [value]):
            if spec.get("contains") and isinstance(element, dict):
                missing.extend(undocumented_keys(element, spec["contains"], "%s%s%s." % (
                    path, key, "[]" if isinstance(value, list) else "")))
    return sorted(set(missing))


def documented_return(source):
    """The RETURN block of a module's source text, parsed."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "RETURN":
            return yaml.safe_load(node.value.value) or {}
    return {}


def assert_documented(name, source, result):
    missing = undocumented_keys(result, documented_return(source))
    assert not missing, "%s returns keys its RETURN does not document: %s" % (name, ", ".join(missing))

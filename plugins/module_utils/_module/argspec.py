# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Argument specs built from parts and merged, with their rules declared, not hand-coded.
Internal to this collection: not a public API.

A module that reads AD and Entra in one task takes both connection specs.  Their options have
distinct names (``ldap_ca_path`` beside ``graph_ca_path``); each single-directory spec keeps
the old spelling (``ca_path``) as an alias.  Merged, an alias that both sides claim would mean
two things, so it is dropped from both: a combined module accepts only the distinct names.
"""

import copy

from ansible.module_utils.basic import AnsibleModule

RULE_KEYS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")


class ArgumentSpec:
    """An argument spec and the rules between its options."""

    def __init__(self, argument_spec=None, **rules):
        unknown = set(rules) - set(RULE_KEYS)
        if unknown:
            raise ValueError("unknown argument spec rules: %s" % ", ".join(sorted(unknown)))
        self.argument_spec = copy.deepcopy(argument_spec or {})
        self.rules = dict((key, list(copy.deepcopy(rules.get(key) or []))) for key in RULE_KEYS
                          if key != "required_by")
        self.rules["required_by"] = dict(copy.deepcopy(rules.get("required_by") or {}))

    def _names(self):
        names = {}
        for name, option in self.argument_spec.items():
            names[name] = name
            for alias in option.get("aliases") or []:
                names[alias] = name
        return names

    def merge(self, other):
        """Add ``other``'s options and rules; an option defined twice must be defined alike."""
        mine, theirs = self._names(), other._names()
        for name, option in other.argument_spec.items():
            if name in self.argument_spec and self.argument_spec[name] != option:
                raise ValueError("option %s is defined twice, differently" % name)
        # A name that means one option here and another there: as an alias, it goes.
        shared_aliases = set(n for n in set(mine) & set(theirs) if mine[n] != theirs[n])
        self.argument_spec.update(copy.deepcopy(other.argument_spec))
        for option in self.argument_spec.values():
            if option.get("aliases"):
                option["aliases"] = [a for a in option["aliases"] if a not in shared_aliases]
        for key in RULE_KEYS:
            if key == "required_by":
                self.rules[key].update(copy.deepcopy(other.rules[key]))
            else:
                self.rules[key].extend(copy.deepcopy(other.rules[key]))
        return self

    def create_ansible_module(self, **kwargs):
        args = dict((key, value) for key, value in self.rules.items() if value)
        args.update(kwargs)
        return AnsibleModule(argument_spec=self.argument_spec, **args)

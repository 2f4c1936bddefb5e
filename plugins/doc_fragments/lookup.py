# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    """``lookup_failure_action``: what a module does with a selector that names no object."""

    DOCUMENTATION = r"""
options:
  lookup_failure_action:
    description:
      - What to do when a selector names no object (a typo, or an object already gone).
      - V(fail) fails the task, naming every such selector and the way out; nothing is changed.
      - V(warn) goes on without it and adds a warning naming it.
      - V(ignore) goes on without it silently.
      - Left out, V(fail).
    type: str
    choices: [fail, warn, ignore]
    default: fail
"""

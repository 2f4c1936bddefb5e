"""Make ``ansible_collections.syncfix.entra`` importable when pytest runs from the checkout.

ansible-test runs units from inside an ``ansible_collections/syncfix/entra`` tree; plain
``pytest tests/unit`` runs from the repository, so point a collection root at it.
"""

import importlib.util
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT = os.path.join(REPO, "build", "unit-collections")

if importlib.util.find_spec("ansible_collections") is None or importlib.util.find_spec(
    "ansible_collections.syncfix.entra"
) is None:
    link = os.path.join(ROOT, "ansible_collections", "syncfix", "entra")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    sys.path.insert(0, ROOT)

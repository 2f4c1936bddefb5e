"""The simulator's rule tests run without a DC (``lab.sync_simulator.offline``)."""

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

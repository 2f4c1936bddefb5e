"""Lab knobs, changeable at run time through ``/_lab/config`` (or ``--option`` at start).

- ``time_scale``: multiplies every throttling window (0.01 → the 150 s write window lasts 1.5 s).
- ``quota_scale``: multiplies every throttling limit (0.01 → 30 writes per window instead of 3,000).
- ``latency_ms``: added to every /v1.0 request before it is answered.
- ``clock_offset``: seconds added to the emulator's clock (token expiry, 30-day recycle bin).
- ``token_lifetime``: seconds an access token lives (``expires_in``).
- ``throttling``: false turns the quotas off.
- ``absent_user_properties``: user properties this Graph does not know, as a deployment whose
  v1.0 schema predates them answers (``$select`` of one is a 400 "Could not find a property
  named ..."); e.g. ``["onPremisesObjectIdentifier"]``.
- ``entra_id_p2``: false makes the tenant one without Microsoft Entra ID P2 or Governance
  licences, where the PIM APIs (``roleEligibilityScheduleInstances``) answer 400
  ``AadPremiumLicenseRequired``.
- ``recycle_bin_lag_s``: seconds after its deletion before a user shows in
  ``directory/deletedItems`` (list, get, purge, restore answer as if it were not there yet):
  Entra's directory is eventually consistent, and a purge sent right after the delete can
  meet a 404.
"""

from __future__ import annotations

import threading
import time

DEFAULTS = {"time_scale": 1.0, "quota_scale": 1.0, "latency_ms": 0.0, "clock_offset": 0.0,
            "token_lifetime": 3599, "throttling": True, "absent_user_properties": [],
            "entra_id_p2": True, "recycle_bin_lag_s": 0.0}


class Settings:
    def __init__(self, **values):
        self._lock = threading.Lock()
        self._values = dict(DEFAULTS)
        self.update(values)

    def __getattr__(self, name):
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def update(self, values: dict) -> dict:
        checked = {}
        for key, value in (values or {}).items():
            if key not in DEFAULTS:
                raise ValueError("unknown setting %r (known: %s)" % (key, ", ".join(sorted(DEFAULTS))))
            kind = type(DEFAULTS[key])
            if kind is list:
                if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                    raise ValueError("%s: expected a list of property names" % key)
                value = list(value)
            elif kind is bool:
                if not isinstance(value, bool):
                    raise ValueError("%s: expected true or false" % key)
            else:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError("%s: expected a number" % key)
                if key in ("time_scale", "quota_scale", "token_lifetime") and value <= 0:
                    raise ValueError("%s: must be above 0" % key)
                if key in ("latency_ms", "recycle_bin_lag_s") and value < 0:
                    raise ValueError("%s: must not be negative" % key)
                value = kind(value)
            checked[key] = value
        with self._lock:
            self._values.update(checked)
        return self.dump()

    def dump(self) -> dict:
        with self._lock:
            return {key: list(value) if isinstance(value, list) else value for key, value in self._values.items()}

    def now(self) -> float:
        """The emulator's wall clock (UNIX seconds), shifted by ``clock_offset``."""
        return time.time() + self._values["clock_offset"]

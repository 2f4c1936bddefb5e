"""A sync-engine simulator: what Entra Connect does to an AD user on a sync cycle, written from
Microsoft's documentation (``../shared/DESIGN.md``, "Facts the code must honour"), not from
the collection's code (no imports from ``plugins/``).

One cycle (``cycle.run``): read AD over LDAPS with paging (``ad_source``), take each user's
source anchor from mS-DS-ConsistencyGuid (writing the objectGUID into an empty one first, as
Connect does), then for users new to the engine decide hard match, soft match or provisioning
(``matching``), apply the outcome to the emulator's tenant (``export``), remember every join
in the connector space (``connector_space``), and report a run result shaped like
``Get-ADSyncRunProfileResult`` with each object's error under its documented name.

It runs inside the Graph emulator's process: ``POST /_lab/sync``, ``make lab-sync``, and the
Cloud Sync job endpoints (``start`` a cycle, ``provisionOnDemand`` one object).
"""

from .cycle import run  # noqa: F401

"""A local Microsoft Graph v1.0 + token service over HTTPS that enforces Entra ID's documented
rules; the collection's referee. Written from Microsoft's documentation; imports nothing from
``plugins/``. See ``lab/README.md``.

In-process use (tests, other lab parts)::

    from lab.graph_emulator.service import GraphService, load_identity
    service = GraphService(state_dir / "graph", load_identity(state_dir / "graph"))

Standalone: ``python -m lab.graph_emulator --state-dir lab/.state``; normally ``python -m lab up``.
"""

"""``python -m lab.graph_emulator --state-dir lab/.state [--port N] [--option name=value ...]``

Serves in the foreground until SIGTERM/SIGINT. Once listening it writes
``<state-dir>/graph/server.json`` (pid, port, endpoint, tenant and app credentials, CA path);
``python -m lab up`` starts it in the background and waits for that file.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import sys
import threading

from . import certificates, synchronization
from .server import GraphHTTPServer
from .service import GraphService, load_identity
from .settings import Settings


def facts(graph_dir: pathlib.Path, identity: dict, port: int) -> dict:
    endpoint = "https://127.0.0.1:%d" % port
    return {
        "graph_endpoint": endpoint,
        "authority_host": endpoint,
        "tenant_id": identity["tenant_id"],
        "client_id": identity["client_id"],
        "client_secret": identity["client_secret"],
        "ca_path": str(graph_dir / "tls" / "ca.pem"),
        "graph_pid": os.getpid(),
        "graph_port": port,
        "graph_state_path": str(graph_dir / "tenant.json"),
        "graph_log_path": str(graph_dir / "emulator.log"),
        "graph_lab_api": endpoint + "/_lab",
    }


def _option(text: str):
    name, _, value = text.partition("=")
    return name, json.loads(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.graph_emulator", description=__doc__)
    parser.add_argument("--state-dir", type=pathlib.Path, required=True)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--option", action="append", default=[], type=_option,
                        help="a setting as name=JSON, e.g. time_scale=0.01 (see settings.py)")
    args = parser.parse_args(argv)

    graph_dir = args.state_dir.resolve() / "graph"
    graph_dir.mkdir(parents=True, exist_ok=True)
    tls = certificates.ensure(graph_dir / "tls")
    identity = load_identity(graph_dir)
    service = GraphService(graph_dir, identity, Settings(**dict(args.option)))
    synchronization.start_schedule(service)
    server = GraphHTTPServer(("127.0.0.1", args.port), service, str(tls["cert"]), str(tls["key"]))
    port = server.server_address[1]

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    info = facts(graph_dir, identity, port)
    temporary = graph_dir / "server.json.tmp"
    temporary.write_text(json.dumps(info, indent=1))
    os.replace(temporary, graph_dir / "server.json")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        service.tenant.save()
        try:
            current = json.loads((graph_dir / "server.json").read_text())
            if current.get("graph_pid") == os.getpid():
                (graph_dir / "server.json").unlink()
        except (OSError, ValueError):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

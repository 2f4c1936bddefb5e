"""HTTPS front end: the standard library's ThreadingHTTPServer, TLS wrapped per connection in
the worker thread (a slow handshake never blocks accept), keep-alive with Nagle off (else each
keep-alive request stalls ~40 ms, LAB-NOTES)."""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import traceback

from .routing import Response


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "syncfix-graph-emulator"
    sys_version = ""

    def log_message(self, format, *args):  # the request log lives in /_lab/requests
        pass

    def _body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self):
        body = self._body()
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        try:
            response: Response = self.server.service.handle(self.command, self.path, dict(self.headers.items()), body,
                                                            "https://" + host)
        except Exception as error:  # noqa: BLE001
            # An emulator bug must reach the client as an answer it can read (and a test can
            # report), not as a dropped connection that looks like a network fault.
            traceback.print_exc()
            response = Response(500, {"error": {"code": "generalException",
                                                "message": "graph emulator error: %s: %s" % (type(error).__name__, error)}})
        if response.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if isinstance(response.body, (dict, list)):
            payload = json.dumps(response.body).encode()
            content_type = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
        elif isinstance(response.body, str):
            payload = response.body.encode()
            content_type = "text/plain"
        else:
            payload, content_type = b"", None
        self.send_response(response.status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve


class GraphHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, service, certfile, keyfile):
        self.service = service
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ssl_context.load_cert_chain(certfile, keyfile)
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address):
        try:
            request.settimeout(60)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass

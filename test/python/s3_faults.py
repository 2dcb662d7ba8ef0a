"""An HTTP proxy in front of the local S3 endpoint that answers chosen PUTs with 503 SlowDown,
adds latency, and measures how many PUTs were in flight at once."""

from __future__ import annotations

import http.client
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class ThrottlingProxy:
    def __init__(
        self,
        upstream: str,
        throttle: Callable[[str, int], bool],
        put_latency: float = 0.0,
    ) -> None:
        self.upstream = urlsplit(upstream)
        self.throttle = throttle
        self.put_latency = put_latency
        self.attempts: dict[str, int] = defaultdict(int)
        self.injected = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self) -> None:
                body = self._body()
                if self.command == "PUT" and self.path.count("/") >= 2:
                    proxy._put(self, body)
                else:
                    proxy._forward(self, body)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ThrottlingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _put(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.attempts[handler.path] += 1
            attempt = self.attempts[handler.path]
        try:
            if self.put_latency:
                time.sleep(self.put_latency)
            if self.throttle(handler.path, attempt):
                with self._lock:
                    self.injected += 1
                handler.send_response(503)
                handler.send_header("Content-Type", "application/xml")
                handler.send_header("Content-Length", str(len(SLOW_DOWN)))
                handler.end_headers()
                handler.wfile.write(SLOW_DOWN)
                return
            self._forward(handler, body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() not in ("transfer-encoding", "expect", "content-length")
        }
        headers["Content-Length"] = str(len(body))
        try:
            conn.request(handler.command, handler.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            handler.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                    handler.send_header(k, v)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(data)
        finally:
            conn.close()

"""The out-of-process transport: a real HTTP server in front of a backend.

Standard library only (``ThreadingHTTPServer``), HTTP/1.1 with keep-alive so clients reuse
connections. A drop closes the socket without a byte of response; a streamed answer is sent
chunk by chunk with chunked transfer encoding, as a real SSE server would.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from pulumi_cortecs.testing.fake._backend import FakeBackend
from pulumi_cortecs.testing.fake._constants import API_PREFIX
from pulumi_cortecs.testing.fake._routes import handle
from pulumi_cortecs.testing.fake._wire import FakeRequest, FakeResponse


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body then
    # waits for the client's delayed ACK (~40 ms) on every keep-alive request.
    disable_nagle_algorithm = True
    backend: ClassVar[FakeBackend]
    host_port: ClassVar[str]

    def log_message(self, format: str, *args: object) -> None:
        # Quiet: tests and the CLI would otherwise get a line per request on stderr.
        pass

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        # The Host header is the origin the client used, so base_urls we hand out match it.
        host = self.headers.get("host") or self.host_port
        request = FakeRequest(
            method=self.command,
            url_origin=f"http://{host}",
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        response = handle(self.backend, request)
        if response.delay > 0:
            self.backend.sleep(response.delay)
        if response.drop:
            self.close_connection = True
            return
        self._write(response)

    def _write(self, response: FakeResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.chunks is None:
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for chunk in response.chunks:
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _CountingHTTPServer(ThreadingHTTPServer):
    """Counts the TCP connections it accepts (``connections``), e.g. to show pooling works."""

    connections = 0
    # socketserver's backlog of 5 drops the connections of 64 creates at once: each dropped SYN
    # is resent a second or more later, so a create sometimes took seconds longer than one.
    request_queue_size = 128

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1
        super().process_request(request, client_address)


class FakeServer:
    """Serve a backend over HTTP on ``host:port`` (0 picks a free port) from a daemon thread.

    ``connections`` is how many TCP connections it has accepted so far.
    """

    def __init__(
        self, backend: FakeBackend | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.backend = backend or FakeBackend()
        self._httpd = _CountingHTTPServer((host, port), _Handler)
        bound_host, bound_port = self._httpd.server_address[:2]
        self._host_port = f"{bound_host!s}:{bound_port}"
        # A handler class per server, so two servers in one process keep their own backends.
        self._httpd.RequestHandlerClass = type(
            "FakeApiHandler",
            (_Handler,),
            {"backend": self.backend, "host_port": self._host_port},
        )
        self._thread: threading.Thread | None = None

    @property
    def connections(self) -> int:
        return self._httpd.connections

    @property
    def origin(self) -> str:
        return f"http://{self._host_port}"

    @property
    def api_base_url(self) -> str:
        return f"{self.origin}{API_PREFIX}"

    def start(self) -> FakeServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="fake-cortecs-api", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

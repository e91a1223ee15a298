"""moto's S3 over HTTP on 127.0.0.1, for tests of the journal in a bucket (needs ``moto[server]``).

Two things differ from moto's own ``ThreadedMotoServer``: writes are served one at a time, so a
conditional PUT's check and write are one step as on S3 (moto checks, then writes, and two
threads can both pass the check); and faults can be injected: conditional writes refused with
412 (another writer always first), every request or every write refused with 403 (credentials
or policy).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

_WRITES = {"PUT", "POST", "DELETE"}
_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message></Error>"
)
_PRECONDITION_FAILED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>'
    b"<Message>At least one of the pre-conditions you specified did not hold</Message></Error>"
)


class S3Server:
    """An S3 endpoint (:attr:`endpoint`) with its own buckets, until :meth:`stop`."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        self._moto = DomainDispatcherApplication(create_backend_app)
        self._write_lock = threading.Lock()
        self._fault_lock = threading.Lock()
        self._refused_writes = 0
        self.refused = 0
        """How many conditional writes were refused since :meth:`refuse_writes` was last called."""
        self.denied = False
        """Whether every request is answered 403 AccessDenied."""
        self.writes_denied = False
        """Whether every write (PUT, POST, DELETE) is answered 403 AccessDenied, reads served:
        a bucket policy that grants reading only, or one changed while a command runs."""

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any) -> None:
                """Not a line per request on stderr: tests and benchmarks make thousands."""

        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self._serve, threaded=True, request_handler=QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.endpoint = f"http://{host!s}:{port}"

    def aws_environment(self) -> dict[str, str]:
        """The AWS environment of a client of this server (made-up credentials)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "cortecs-test",
            "AWS_SECRET_ACCESS_KEY": "cortecs-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def new_journal(self) -> str:
        """A journal URL, ``s3://BUCKET/journal``, in a new, empty bucket."""
        import boto3

        environment = self.aws_environment()
        bucket = f"cortecs-{uuid.uuid4().hex[:16]}"
        boto3.session.Session(
            aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
            region_name=environment["AWS_DEFAULT_REGION"],
        ).client("s3", endpoint_url=self.endpoint).create_bucket(Bucket=bucket)
        return f"s3://{bucket}/journal"

    def refuse_writes(self, count: int) -> None:
        """Answer the next ``count`` conditional writes 412, as if another writer always came
        first (a storm of rivals)."""
        with self._fault_lock:
            self._refused_writes = count
            self.refused = 0

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()

    def __enter__(self) -> S3Server:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if self.denied:
            return _error(start_response, "403 Forbidden", _DENIED)
        if environ["REQUEST_METHOD"] not in _WRITES:
            return list(self._moto(environ, start_response))
        if self.writes_denied:
            return _error(start_response, "403 Forbidden", _DENIED)
        conditional = "HTTP_IF_MATCH" in environ or "HTTP_IF_NONE_MATCH" in environ
        with self._write_lock:
            if conditional and self._take_refusal():
                return _error(start_response, "412 Precondition Failed", _PRECONDITION_FAILED)
            answer = list(self._moto(environ, start_response))
        return answer

    def _take_refusal(self) -> bool:
        with self._fault_lock:
            if self._refused_writes <= 0:
                return False
            self._refused_writes -= 1
            self.refused += 1
            return True


def _error(start_response: Callable[..., Any], status: str, body: bytes) -> list[bytes]:
    start_response(
        status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
    )
    return [body]

"""Transport-agnostic requests and responses: what a transport hands the backend and gets back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class FakeRequest:
    """One HTTP request as the backend sees it, whichever transport carried it.

    ``url_origin`` is ``scheme://host[:port]``, so URLs the backend hands out (an instance's
    ``base_url``) point back at whichever transport is in use. Header names are lower-case.
    """

    method: str
    url_origin: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty); :class:`HttpError` 400 when malformed."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, "request body is not valid JSON") from None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, an empty one when the body is empty."""
        data = self.json()
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise HttpError(400, "request body must be a JSON object")
        return data

    def form_or_json(self) -> dict[str, Any]:
        """The body as a JSON object or, when the content type says so, as an HTML form."""
        if "application/x-www-form-urlencoded" in self.headers.get("content-type", ""):
            try:
                return dict(parse_qsl(self.body.decode(), keep_blank_values=True))
            except UnicodeDecodeError:
                raise HttpError(400, "request body is not valid form data") from None
        return self.json_object()


@dataclass
class FakeResponse:
    """The backend's answer, and how the transport should deliver it.

    ``chunks`` (when set) is the body split the way a streaming server would send it; ``body``
    always holds the whole of it, for transports that do not stream. ``delay`` is how long the
    transport waits (with the backend's sleep) before answering. ``drop`` asks the transport to
    break the connection instead of answering; ``processed`` says whether the backend acted on
    the request first, so an in-process transport can raise the matching error.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: list[bytes] | None = None
    delay: float = 0.0
    drop: bool = False
    processed: bool = True


class HttpError(Exception):
    """Raised while handling a request to answer with ``status`` and ``{"detail": detail}``."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> FakeResponse:
    """A JSON response."""
    return FakeResponse(
        status=status,
        headers={"content-type": "application/json", **(headers or {})},
        body=json.dumps(payload).encode(),
    )


def error_response(error: HttpError) -> FakeResponse:
    """The API's error shape: ``{"detail": "..."}``."""
    return json_response(error.status, {"detail": error.detail}, error.headers)

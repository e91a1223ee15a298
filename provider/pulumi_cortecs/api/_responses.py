"""What an API response means: its body read by the caller's parser, or the exception for it.

Every message passes through the client's redactor before it is built, so no credential the
client holds reaches an exception, a log or a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pydantic

from pulumi_cortecs._exceptions import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from pulumi_cortecs.api import _retry

T = TypeVar("T")
Body = dict[str, Any]

_ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequestError,
    422: InvalidRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    429: RateLimitError,
}
_MAX_SERVER_MESSAGE = 500
_MAX_SNIPPET = 200


def read(
    method: str,
    path: str,
    response: httpx.Response,
    parse: Callable[[Body], T],
    redact: Callable[[str], str],
    *,
    quote_body: bool = True,
) -> T:
    """A 2xx answer's JSON object read by ``parse``, or the :class:`ApiError` it stands for.

    ``quote_body=False`` keeps an unreadable body out of the message (a token endpoint's body
    may hold a token the redactor does not know yet).
    """
    if response.is_error:
        raise error(method, path, response, redact)
    try:
        body = response.json()
        if not isinstance(body, dict):
            raise TypeError(f"a JSON {type(body).__name__} where an object belongs")
        return parse(body)
    # json and pydantic errors are ValueErrors; a missing field is a KeyError.
    except (ValueError, KeyError, TypeError) as exc:
        snippet = redact(response.text.strip()[:_MAX_SNIPPET]) if quote_body else ""
        raise MalformedResponseError(
            f"{method} {path} answered HTTP {response.status_code} with a body this client "
            f"cannot read ({redact(_unreadable(exc))})" + (f": {snippet}" if snippet else ""),
            method=method,
            path=path,
            status_code=response.status_code,
        ) from None


def error(
    method: str, path: str, response: httpx.Response, redact: Callable[[str], str]
) -> ApiError:
    """The exception for a non-2xx answer, with the server's own words."""
    status = response.status_code
    error_type = _ERRORS_BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    found = error_type.from_response(method, path, status, redact(_server_message(response)))
    found.retry_after = _retry.retry_after(response)
    return found


def connection_error(
    method: str, path: str, exc: httpx.TransportError, base_url: str, describe: str
) -> ApiConnectionError:
    return ApiConnectionError(
        f"{method} {path} failed: the API at {base_url} could not be reached or the "
        f"connection broke ({describe})",
        method=method,
        path=path,
    )


def _unreadable(exc: Exception) -> str:
    """What was wrong with a body, in one line (never a pydantic traceback)."""
    if isinstance(exc, pydantic.ValidationError):
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        more = f" and {exc.error_count() - 1} more" if exc.error_count() > 1 else ""
        return f"{location}: {first['msg']}{more}"
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r} field"
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return "not JSON"
    return str(exc)


def _server_message(response: httpx.Response) -> str:
    """The server's own words: ``detail`` or ``message``, with validation errors spelled out."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text.strip()[:_MAX_SERVER_MESSAGE]
    if isinstance(body, dict):
        detail = body.get("detail", body.get("message"))
        if detail is not None:
            return _render_detail(detail)[:_MAX_SERVER_MESSAGE]
    return json.dumps(body)[:_MAX_SERVER_MESSAGE]


def _render_detail(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        return "; ".join(_render_detail(item) for item in detail)
    if isinstance(detail, dict) and "msg" in detail:
        # FastAPI validation errors: {"loc": ["body", "context_length"], "msg": "...", ...}
        location = ".".join(str(part) for part in detail.get("loc", ()) if part != "body")
        return f"{location}: {detail['msg']}" if location else str(detail["msg"])
    return json.dumps(detail)

"""Every exception the package raises, under one root, so ``except CortecsError`` catches all:

    CortecsError
    ├── ApiError                      a call to the API (or an instance's endpoint) failed
    │   ├── ApiConnectionError        the API could not be reached, or the connection broke
    │   ├── AuthenticationError       credentials refused (HTTP 401/403)
    │   │   └── MissingCredentialsError   no client id or secret, as argument or environment
    │   ├── InvalidRequestError       the API refused the request (HTTP 400/422)
    │   ├── NotFoundError             no such instance or model (HTTP 404)
    │   ├── RateLimitError            HTTP 429, after the retries ran out
    │   ├── ServerError               HTTP 5xx, after the retries ran out
    │   ├── MalformedResponseError    a success status with a body the client cannot read
    │   ├── InstanceStoppedError      an instance awaited to run was stopped instead
    │   ├── WaitTimeoutError          an instance did not reach a status in time
    │   ├── UncertainStartError       a start's outcome is unknown and it cannot be told apart
    │   └── ReadinessProbeError       an instance runs but its chat endpoint does not answer
    ├── UnknownModelError             a model the catalog does not list (also a LookupError)
    ├── ProvisioningError             a create or update failed; says what became of the instance
    │   └── InitializationFailed      ... and the instance is kept, for the engine to record
    ├── OperationCancelled            the engine cancelled the operation (Ctrl-C)
    ├── JournalError                  the journal of unfinished creates cannot be read or written
    ├── MissingApiKeyError            no API key for an instance's endpoint (also a ValueError)
    └── InstanceNotServingError       an instance without a base_url yet (also a ValueError)

Messages name the call (method and path), the HTTP status and the server's own words, and
never a credential: the client redacts its secrets before an error is built.
"""

from __future__ import annotations

from typing import Any


class CortecsError(Exception):
    """Anything this package raises on purpose."""


class ApiError(CortecsError):
    """A call to the dedicated-instance API, or to an instance's endpoint, did not succeed."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status_code: int | None = None,
        server_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status_code = status_code
        self.server_message = server_message
        # Seconds the server asked to wait before trying again (429 and 503 may say so).
        self.retry_after = retry_after

    @classmethod
    def from_response(
        cls, method: str, path: str, status_code: int, server_message: str, *, hint: str = ""
    ) -> ApiError:
        message = (
            f"{method} {path} failed with HTTP {status_code}: {server_message or '(no message)'}"
        )
        if hint:
            message = f"{message}. {hint}"
        return cls(
            message,
            method=method,
            path=path,
            status_code=status_code,
            server_message=server_message,
        )


class ApiConnectionError(ApiError):
    """The API could not be reached, or the connection broke, after the retries ran out."""


class AuthenticationError(ApiError):
    """Credentials are missing or wrong, or the token was refused."""


class MissingCredentialsError(AuthenticationError):
    """No client id or client secret was given, as an argument or in the environment."""


class InvalidRequestError(ApiError):
    """The API refused the request as malformed or not allowed (HTTP 400/422)."""


class NotFoundError(ApiError):
    """The instance or model does not exist (or no longer does)."""


class RateLimitError(ApiError):
    """HTTP 429, after the retries ran out."""


class ServerError(ApiError):
    """HTTP 5xx, after the retries ran out."""


class MalformedResponseError(ApiError):
    """The API answered with a success status but a body this client cannot read."""


class InstanceStoppedError(ApiError):
    """An instance that was being waited on to run was stopped."""


class WaitTimeoutError(ApiError):
    """An instance did not reach the awaited status in time; the message gives the last one."""

    instance_id: str | None = None
    last_status: str | None = None


class UncertainStartError(ApiError):
    """A start's outcome is unknown and new instances with its arguments may be another
    start's: none was taken. ``candidates`` are their ids."""

    def __init__(self, message: str, *, candidates: list[str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.candidates = candidates


class ReadinessProbeError(ApiError):
    """The instance runs but its chat endpoint refused the probe or never answered in time."""


class UnknownModelError(NotFoundError, LookupError):
    """The catalog has no model of that id; ``suggestions`` are close names it does have."""

    def __init__(self, model_id: str, suggestions: list[str]) -> None:
        hint = f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"model {model_id!r} is not in the catalog{hint}", status_code=404)
        self.model_id = model_id
        self.suggestions = suggestions


class ProvisioningError(CortecsError):
    """A create or update failed after an instance was started; the message says what became
    of it (deleted, or kept and recorded for the next run)."""


class InitializationFailed(ProvisioningError):
    """A create or update failed or was cancelled after the instance existed, and the instance
    was kept rather than deleted: a native provider hands it to the engine as partial state
    (``instance_id``, and ``outputs`` as the instance was last seen)."""

    def __init__(self, message: str, *, instance_id: str, outputs: dict[str, Any]) -> None:
        super().__init__(message)
        self.instance_id = instance_id
        self.outputs = outputs


class OperationCancelled(CortecsError):
    """The engine cancelled the operation (Ctrl-C, or it is shutting down): waits end at once."""


class JournalError(CortecsError):
    """The journal of unfinished creates cannot be read or written; the message names the file.
    A create that cannot write ahead does not start anything."""


class MissingApiKeyError(CortecsError, ValueError):
    """No API key for the instance's OpenAI-compatible endpoint was given or found."""


class InstanceNotServingError(CortecsError, ValueError):
    """The instance has no ``base_url`` yet: it is still starting, or it is stopped."""

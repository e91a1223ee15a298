"""The exceptions the client raises, one tree rooted at :class:`ApiError`.

Messages name the call (method and path), the HTTP status and the server's own words, and
never a credential: the client redacts its secrets before an error is built.
"""

from __future__ import annotations


class ApiError(Exception):
    """A call to the dedicated-instance API did not succeed."""

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


class AuthenticationError(ApiError):
    """Credentials are missing or wrong, or the token was refused."""


class MissingCredentialsError(AuthenticationError):
    """No client id or client secret was given, as an argument or in the environment."""


class NotFoundError(ApiError):
    """The instance or model does not exist (or no longer does)."""


class InvalidRequestError(ApiError):
    """The API refused the request as malformed or not allowed (HTTP 400/422)."""


class RateLimitError(ApiError):
    """HTTP 429, after the retries ran out."""


class ServerError(ApiError):
    """HTTP 5xx, after the retries ran out."""


class MalformedResponseError(ApiError):
    """The API answered with a success status but a body this client cannot read."""


class ProvisioningError(ApiError):
    """A create failed after an instance was started; the message says what became of it."""


class ApiConnectionError(ApiError):
    """The API could not be reached, or the connection broke, after the retries ran out."""


class InstanceStoppedError(ApiError):
    """An instance that was being waited on to run was stopped."""


class WaitTimeoutError(ApiError):
    """An instance did not reach the awaited status in time; the message gives the last one."""

    instance_id: str | None = None
    last_status: str | None = None

"""Exit codes, and what to tell the user about a failure: chosen by the exception's type (never
by searching its message), with a hint that may use what the CLI knows (the API's URL and
where it came from, the commands that need no credentials).

Most specific type first: a :class:`MissingCredentialsError` is an
:class:`AuthenticationError`, which is an :class:`ApiError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pulumi_cortecs._exceptions import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    CortecsError,
    JournalError,
    MalformedResponseError,
    MissingCredentialsError,
    NotFoundError,
    RateLimitError,
    ServerError,
    WaitTimeoutError,
)
from pulumi_cortecs._urls import missing_api_path

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_CREDENTIALS = 3
EXIT_INTERRUPTED = 130

REFUSED_CREDENTIALS_HINT = (
    "check CORTECS_CLIENT_ID and CORTECS_CLIENT_SECRET (your cortecs.ai client id and secret)"
)


class UsageError(Exception):
    """The command line asks for something that cannot be (exit 2)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UnusableCredentials(Exception):
    """Credentials the API would refuse for a reason the CLI can name itself (exit 3)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Declined(Exception):
    """The user did not confirm; nothing was done (exit 1)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Interrupted(Exception):
    """A signal ended the command (exit 128 + its number, as a shell reports it); the message
    says what became of what it had started."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.message = message
        self.signum = signum


class Unfinished(Exception):
    """A command did what it could, and not all it was asked (exit 1); the message names what
    is left undone, and ``rows`` what was done, shown (``--json`` included) before the error."""

    def __init__(self, message: str, rows: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.rows = rows


@dataclass(frozen=True)
class CommandFailure:
    """What a failed command exits with, its message for stderr, and maybe a hint."""

    exit_code: int
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class Situation:
    """What a message may mention besides the exception."""

    command: str
    commands_without_credentials: Sequence[str]
    api_base_url: str
    """The API the command talked to."""
    api_base_url_source: str
    """Where that came from: ``--api-base-url``, ``CORTECS_API_BASE_URL`` or ``the default``."""


def _missing_credentials(_: MissingCredentialsError, situation: Situation) -> CommandFailure:
    free = join_names(situation.commands_without_credentials)
    return CommandFailure(
        EXIT_CREDENTIALS,
        f"`{situation.command}` needs API credentials: set the CORTECS_CLIENT_ID and "
        "CORTECS_CLIENT_SECRET environment variables (your cortecs.ai client id and secret). "
        f"{free} need no credentials.",
    )


def _unusable_credentials(exc: UnusableCredentials, _: Situation) -> CommandFailure:
    return CommandFailure(EXIT_CREDENTIALS, exc.message)


def _refused_credentials(exc: AuthenticationError, _: Situation) -> CommandFailure:
    # Built from the error's fields: its message may carry the client's own advice.
    if exc.status_code is not None and exc.method and exc.path:
        said = f": {exc.server_message}" if exc.server_message else ""
        what = f"{exc.method} {exc.path} answered HTTP {exc.status_code}{said}"
    else:
        what = exc.message
    return CommandFailure(
        EXIT_CREDENTIALS, f"the credentials were refused ({what})", REFUSED_CREDENTIALS_HINT
    )


def _unreachable(exc: ApiConnectionError, situation: Situation) -> CommandFailure:
    return CommandFailure(
        EXIT_API_ERROR,
        exc.message,
        f"is {_url_and_source(situation)} right? Check it, and the network (proxy, VPN)",
    )


def _not_the_api(exc: ApiError, situation: Situation) -> CommandFailure:
    """A 404 on a path the API has, or a body it would never send: maybe not the API's URL."""
    hint = missing_api_path(situation.api_base_url, _url_and_source(situation))
    if hint is None and isinstance(exc, MalformedResponseError):
        hint = (
            f"is {_url_and_source(situation)} the cortecs.ai API? It answered like something else"
        )
    return CommandFailure(EXIT_API_ERROR, exc.message, hint)


def _timed_out(exc: WaitTimeoutError, _: Situation) -> CommandFailure:
    return CommandFailure(EXIT_API_ERROR, exc.message, "it may still get there: raise --timeout")


def _rate_limited(exc: RateLimitError, _: Situation) -> CommandFailure:
    return CommandFailure(
        EXIT_API_ERROR, exc.message, "the API is limiting requests: try again later"
    )


def _server_failed(exc: ServerError, _: Situation) -> CommandFailure:
    return CommandFailure(
        EXIT_API_ERROR, exc.message, "the API failed on every try: try again later"
    )


def _api_error(exc: ApiError, _: Situation) -> CommandFailure:
    return CommandFailure(EXIT_API_ERROR, exc.message)


def _usage(exc: UsageError, _: Situation) -> CommandFailure:
    return CommandFailure(EXIT_USAGE, exc.message, exc.hint)


def _declined(exc: Declined, _: Situation) -> CommandFailure:
    return CommandFailure(EXIT_API_ERROR, exc.message)


def _interrupted(exc: Interrupted, _: Situation) -> CommandFailure:
    return CommandFailure(128 + exc.signum, exc.message)


def _said(exc: Unfinished | CortecsError, _: Situation) -> CommandFailure:
    """The exception's own words are the report (they name what failed, and where)."""
    return CommandFailure(EXIT_API_ERROR, str(exc))


def _unreadable(exc: ValueError | KeyError, _: Situation) -> CommandFailure:
    # pydantic's ValidationError is a ValueError; a missing field a KeyError.
    return CommandFailure(EXIT_API_ERROR, f"the API sent an answer this client cannot read: {exc}")


E = TypeVar("E", bound=BaseException)


@dataclass(frozen=True)
class _Explainer(Generic[E]):
    """How to report one type of exception."""

    type: type[E]
    explain: Callable[[E, Situation], CommandFailure]

    def __call__(self, exc: BaseException, situation: Situation) -> CommandFailure | None:
        return self.explain(exc, situation) if isinstance(exc, self.type) else None


# Most specific first: the first type the exception is an instance of decides.
_EXPLAINERS: tuple[_Explainer[Any], ...] = (
    _Explainer(UsageError, _usage),
    _Explainer(Declined, _declined),
    _Explainer(Interrupted, _interrupted),
    _Explainer(Unfinished, _said),
    _Explainer(JournalError, _said),
    _Explainer(MissingCredentialsError, _missing_credentials),
    _Explainer(UnusableCredentials, _unusable_credentials),
    _Explainer(AuthenticationError, _refused_credentials),
    _Explainer(ApiConnectionError, _unreachable),
    _Explainer(NotFoundError, _not_the_api),
    _Explainer(MalformedResponseError, _not_the_api),
    _Explainer(WaitTimeoutError, _timed_out),
    _Explainer(RateLimitError, _rate_limited),
    _Explainer(ServerError, _server_failed),
    _Explainer(ApiError, _api_error),
    _Explainer(CortecsError, _said),
    _Explainer(ValueError, _unreadable),
    _Explainer(KeyError, _unreadable),
)


def failure(exc: BaseException, situation: Situation) -> CommandFailure | None:
    """What to report for ``exc``, or ``None`` when it is not a failure the CLI explains."""
    for explainer in _EXPLAINERS:
        found = explainer(exc, situation)
        if found is not None:
            return found
    return None


def _url_and_source(situation: Situation) -> str:
    return f"{situation.api_base_url} ({situation.api_base_url_source})"


def join_names(names: Sequence[str]) -> str:
    """```a```, ```a` and `b```, ```a`, `b` and `c```."""
    quoted = [f"`{name}`" for name in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]

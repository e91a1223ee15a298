"""Exit codes, and what to tell the user about a failure: chosen by the exception's type."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pulumi_cortecs._exceptions import ApiError, AuthenticationError, MissingCredentialsError

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_CREDENTIALS = 3
EXIT_INTERRUPTED = 130

REFUSED_CREDENTIALS_HINT = "check CORTECS_CLIENT_ID and CORTECS_CLIENT_SECRET"
_TOKEN_PATH = "/oauth2/token"


@dataclass(frozen=True)
class Failure:
    """What a failed command exits with, and the message for stderr."""

    exit_code: int
    message: str


@dataclass(frozen=True)
class Situation:
    """What a message may mention besides the exception: the command, and which commands need
    no credentials."""

    command: str
    commands_without_credentials: Sequence[str]


def _missing_credentials(_: MissingCredentialsError, situation: Situation) -> Failure:
    free = join_names(situation.commands_without_credentials)
    return Failure(
        EXIT_CREDENTIALS,
        f"`{situation.command}` needs API credentials: set the CORTECS_CLIENT_ID and "
        "CORTECS_CLIENT_SECRET environment variables (your cortecs.ai client id and secret). "
        f"{free} need no credentials.",
    )


def _refused_credentials(exc: AuthenticationError, _: Situation) -> Failure:
    # A refused token request already says which variables to check; any other refusal
    # (a token the API stopped accepting, a 403) does not.
    hint = "" if exc.path == _TOKEN_PATH else f" ({REFUSED_CREDENTIALS_HINT})"
    return Failure(EXIT_CREDENTIALS, f"the credentials were refused: {exc.message}{hint}")


def _api_error(exc: ApiError, _: Situation) -> Failure:
    return Failure(EXIT_API_ERROR, exc.message)


def _unreadable(exc: ValueError | KeyError, _: Situation) -> Failure:
    # pydantic's ValidationError is a ValueError; a missing field a KeyError.
    return Failure(EXIT_API_ERROR, f"the API sent an answer this client cannot read: {exc}")


E = TypeVar("E", bound=BaseException)


@dataclass(frozen=True)
class _Explainer(Generic[E]):
    """How to report one type of exception."""

    type: type[E]
    explain: Callable[[E, Situation], Failure]

    def __call__(self, exc: BaseException, situation: Situation) -> Failure | None:
        return self.explain(exc, situation) if isinstance(exc, self.type) else None


# Most specific first: the first type the exception is an instance of decides.
_EXPLAINERS: tuple[_Explainer[Any], ...] = (
    _Explainer(MissingCredentialsError, _missing_credentials),
    _Explainer(AuthenticationError, _refused_credentials),
    _Explainer(ApiError, _api_error),
    _Explainer(ValueError, _unreadable),
    _Explainer(KeyError, _unreadable),
)


def failure(exc: BaseException, situation: Situation) -> Failure | None:
    """What to report for ``exc``, or ``None`` when it is not a failure the CLI explains."""
    for explainer in _EXPLAINERS:
        found = explainer(exc, situation)
        if found is not None:
            return found
    return None


def join_names(names: Sequence[str]) -> str:
    """```a```, ```a` and `b```, ```a`, `b` and `c```."""
    quoted = [f"`{name}`" for name in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]

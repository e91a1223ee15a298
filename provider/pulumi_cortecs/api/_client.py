"""A typed, thread-safe client for the cortecs.ai dedicated-instance API (see ``API.md``).

One :class:`Client` holds one connection pool and one OAuth2 token for all its threads. Safe
calls are retried on transient failures; ``start``, which bills a new instance every time it
is sent, is only sent again once the instance list proves the previous send created nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import httpx
import pydantic
import tenacity

from pulumi_cortecs._exceptions import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    InstanceStoppedError,
    InvalidRequestError,
    MalformedResponseError,
    MissingCredentialsError,
    NotFoundError,
    RateLimitError,
    ServerError,
    WaitTimeoutError,
)
from pulumi_cortecs._schema import API_BASE_URL, CLIENT_ID, CLIENT_SECRET
from pulumi_cortecs.api import _retry
from pulumi_cortecs.api._auth import Redactor, Secret, SecretBody, TokenCache
from pulumi_cortecs.api._models import (
    PENDING,
    RUNNING,
    STOPPED,
    HardwareType,
    Instance,
    InstanceArgs,
    ModelPreview,
    to_model_id,
)
from pulumi_cortecs.api._polling import LAUNCHED, AdaptivePollPolicy, Observation, PollPolicy

DEFAULT_API_BASE_URL = "https://cortecs.ai/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

logger = logging.getLogger("pulumi_cortecs.api")

T = TypeVar("T")
Body = dict[str, Any]
START_PATH = "/instances/start"
TOKEN_PATH = "/oauth2/token"

_ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequestError,
    422: InvalidRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    429: RateLimitError,
}
_REFUSED_CREDENTIALS = (
    "The client id/secret were refused; check CORTECS_CLIENT_ID and CORTECS_CLIENT_SECRET"
)
_MAX_SERVER_MESSAGE = 500
_MAX_SNIPPET = 200


class Client:
    """The dedicated-instance API: catalog, instance lifecycle, and waiting for a status."""

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_base_url: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_attempts: int = 5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
        poll_policy: Callable[[], PollPolicy] = AdaptivePollPolicy,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._client_id = CLIENT_ID.value(client_id)
        self._client_secret = Secret(CLIENT_SECRET.value(client_secret) or "")
        self._api_base_url = (API_BASE_URL.value(api_base_url) or DEFAULT_API_BASE_URL).rstrip("/")
        self._max_attempts = max_attempts
        self._backoff = _retry.Backoff(max_backoff)
        self._sleep = sleep
        self._clock = clock
        self._poll_policy = poll_policy
        self._redact = Redactor()
        self._redact.add(self._client_secret)
        self._tokens = TokenCache(self._fetch_token, clock=clock, redactor=self._redact)
        # Starts are serialised so that an instance that appeared during one start can only
        # be that start's (within this process).
        self._start_lock = threading.Lock()
        # What this client knows about the runs it launched (see _remember_launch), by instance.
        self._launches: dict[str, tuple[Observation, Observation]] = {}
        self._launches_lock = threading.Lock()
        self._http = httpx.Client(
            base_url=self._api_base_url,
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            headers={"Accept": "application/json"},
        )

    @property
    def api_base_url(self) -> str:
        return self._api_base_url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(api_base_url={self._api_base_url!r}, client_id={self._client_id!r})"

    # Catalog (public)

    def list_models(self) -> list[ModelPreview]:
        return self._request(
            "GET",
            "/models/",
            lambda body: [ModelPreview.model_validate(m) for m in body["models"]],
            authenticated=False,
        )

    def get_model(self, model_id: str) -> ModelPreview:
        return self._request(
            "GET",
            f"/models/{to_model_id(model_id)}",
            lambda body: ModelPreview.model_validate(body["model"]),
            authenticated=False,
        )

    def list_hardware_types(self, available_only: bool = False) -> list[HardwareType]:
        path = "/hardware-types/available" if available_only else "/hardware-types/"
        return self._request(
            "GET",
            path,
            lambda body: [HardwareType.model_validate(h) for h in body["hardware_types"]],
            authenticated=False,
        )

    # Instances

    def authenticate(self) -> None:
        """Make sure a token can be had (fetching one if none is held); raise if not."""
        self._tokens.get()

    def list_instances(self) -> list[Instance]:
        return self._request(
            "GET",
            "/instances/",
            lambda body: [Instance.model_validate(i) for i in body["instances"]],
        )

    def get_instance(self, instance_id: str) -> Instance:
        return self._request("GET", f"/instances/{instance_id}", _instance_of)

    def start(self, args: InstanceArgs) -> Instance:
        """Start one instance; a call that fails in an ambiguous way never leaves a second one.

        When the outcome of a send is unknown (the connection broke after sending, a 5xx, or
        an unreadable success), the instances that appeared since the call began are checked
        for one with these arguments: if there is one, it is the result; if there is none,
        sending again is safe. Until that check has an answer, nothing is sent again.
        """
        with self._start_lock:
            launched_at = self._clock()  # not before the lock: a queued start is not sent yet
            known = {instance.instance_id for instance in self.list_instances()}
            unresolved = False

            def attempt(token: Secret | None) -> Instance:
                nonlocal unresolved
                if unresolved:
                    # The check after an unknown outcome failed; it goes first, a resend after.
                    started = self._find_started(args, known)
                    if started is not None:
                        return started
                    unresolved = False
                try:
                    return self._send("POST", START_PATH, args.to_request(), token, _instance_of)
                except (ApiError, httpx.TransportError) as exc:
                    if not _retry.is_ambiguous(exc):
                        raise
                    unresolved = True
                    started = self._find_started(args, known)
                    unresolved = False
                    outcome = (
                        f"created instance {started.instance_id}; using it"
                        if started
                        else "created no instance; it is safe to send again"
                    )
                    logger.warning(
                        "Start of %s failed (%s) and %s",
                        args.model_id,
                        self._describe(exc),
                        outcome,
                    )
                    if started is None:
                        raise
                    return started

            instance = self._authorized(
                lambda token: self._with_retries("POST", START_PATH, attempt, token)
            )
        self._remember_launch(launched_at, instance)
        return instance

    def restart(self, instance_id: str) -> Instance:
        """Send a stopped instance back to pending.

        A retry after a lost answer is refused (the instance no longer is stopped); an instance
        that is then pending or running counts as restarted.
        """
        launched_at = self._clock()
        instance = self._mutate(
            "POST",
            "/instances/restart",
            {"instance_id": instance_id},
            _instance_of,
            lambda refusal: (
                self._instance_unless(instance_id, STOPPED)
                if isinstance(refusal, InvalidRequestError)
                else None
            ),
        )
        self._remember_launch(launched_at, instance)
        return instance

    def stop(self, instance_id: str) -> Instance:
        stopped = self._mutate(
            "POST",
            "/instances/stop",
            {"instance_id": instance_id},
            _instance_of,
            lambda refusal: (
                self._instance_unless(instance_id, PENDING, RUNNING)
                if isinstance(refusal, InvalidRequestError)
                else None
            ),
        )
        self._forget_launch(instance_id)
        return stopped

    def delete(self, instance_id: str) -> str:
        """Delete a stopped instance; a retry answered 404 after a lost answer counts as done."""
        deleted = self._mutate(
            "DELETE",
            f"/instances/{instance_id}",
            None,
            lambda body: str(body["instance_id"]),
            lambda refusal: instance_id if isinstance(refusal, NotFoundError) else None,
        )
        self._forget_launch(instance_id)
        return deleted

    def _instance_unless(self, instance_id: str, *statuses: str) -> Instance | None:
        instance = self.get_instance(instance_id)
        return None if instance.status in statuses else instance

    def _remember_launch(self, launched_at: float, instance: Instance) -> None:
        """Keep what starting the instance taught: the run cannot have begun before the request
        was sent, and it was where the answer says by the time the answer arrived. A wait then
        knows when the run began, which a wait that merely observes it has to learn (or guess).
        Kept until a wait sees the run end, or the instance is stopped or deleted."""
        answer = _observation(instance, self._clock())
        with self._launches_lock:
            self._launches[instance.instance_id] = (Observation(launched_at, LAUNCHED), answer)

    def _forget_launch(self, instance_id: str) -> None:
        with self._launches_lock:
            self._launches.pop(instance_id, None)

    def _launch_record(self, instance_id: str) -> list[Observation]:
        with self._launches_lock:
            return list(self._launches.get(instance_id, ()))

    # Waiting

    def wait_until_running(
        self,
        instance_id: str,
        *,
        timeout: float = 1800.0,
        on_progress: Callable[[Instance], None] | None = None,
    ) -> Instance:
        """Poll until the instance runs; fail fast if it is stopped instead."""
        return self._wait(instance_id, RUNNING, timeout, on_progress)

    def wait_until_stopped(
        self,
        instance_id: str,
        *,
        timeout: float = 600.0,
        on_progress: Callable[[Instance], None] | None = None,
    ) -> Instance:
        return self._wait(instance_id, STOPPED, timeout, on_progress)

    def _wait(
        self,
        instance_id: str,
        target: str,
        timeout: float,
        on_progress: Callable[[Instance], None] | None,
    ) -> Instance:
        policy = self._poll_policy()
        deadline = self._clock() + timeout
        observations = self._launch_record(instance_id)
        first_poll = len(observations)

        def poll() -> Instance:
            instance = self.get_instance(instance_id)
            observation = _observation(instance, self._clock())
            # The first status of a wait is always reported, even if the start answered the same.
            changed = len(observations) == first_poll or observations[-1].stage != observation.stage
            observations.append(observation)
            if changed and on_progress is not None:
                on_progress(instance)
            if instance.status != PENDING:
                self._forget_launch(instance_id)  # that run is over: running, or stopped
            if target == RUNNING and instance.status == STOPPED:
                raise InstanceStoppedError(
                    f"Instance {instance_id} was stopped while waiting for it to run",
                    method="GET",
                    path=f"/instances/{instance_id}",
                )
            return instance

        def timed_out(state: tenacity.RetryCallState) -> Instance:
            assert state.outcome is not None
            raise _wait_timeout(state.outcome.result(), target, timeout)

        # Errors of a poll are not polled through: the status call has its own retries.
        polling = tenacity.Retrying(
            retry=tenacity.retry_if_result(lambda instance: instance.status != target),
            wait=lambda _: max(0.0, min(policy.next_delay(observations), deadline - self._clock())),
            stop=lambda _: self._clock() >= deadline,
            sleep=self._sleep,
            retry_error_callback=timed_out,
        )
        return polling(poll)

    # Requests

    def _request(
        self,
        method: str,
        path: str,
        parse: Callable[[Body], T],
        *,
        json: dict[str, Any] | None = None,
        authenticated: bool = True,
    ) -> T:
        def attempt(token: Secret | None) -> T:
            return self._send(method, path, json, token, parse)

        if not authenticated:
            return self._with_retries(method, path, attempt, None)
        return self._authorized(lambda token: self._with_retries(method, path, attempt, token))

    def _mutate(
        self,
        method: str,
        path: str,
        json: dict[str, Any] | None,
        parse: Callable[[Body], T],
        already_done: Callable[[ApiError], T | None],
    ) -> T:
        """A call that changes state, retried like any other; once an attempt's outcome was
        unknown, a later attempt's refusal is checked with ``already_done``: a result from it
        means the earlier attempt did take effect."""
        uncertain = False

        def attempt(token: Secret | None) -> T:
            nonlocal uncertain
            try:
                return self._send(method, path, json, token, parse)
            except (ApiError, httpx.TransportError) as exc:
                if uncertain and isinstance(exc, ApiError):
                    done = already_done(exc)
                    if done is not None:
                        logger.info(
                            "%s %s was refused (%s): an earlier attempt whose answer was lost "
                            "had done it",
                            method,
                            path,
                            exc.message,
                        )
                        return done
                uncertain = uncertain or _retry.is_ambiguous(exc)
                raise

        return self._authorized(lambda token: self._with_retries(method, path, attempt, token))

    def _authorized(self, call: Callable[[Secret], T]) -> T:
        """Run ``call`` with the shared token; while that is refused, renew it and rerun.

        A token can expire (or be revoked) between being handed out and being checked, again
        after a renewal; the renewals are bounded so a token the API never accepts still fails.
        """
        token = self._tokens.get()
        for _ in range(self._max_attempts - 1):
            try:
                return call(token)
            except AuthenticationError as exc:
                if exc.status_code != 401:
                    raise
            self._tokens.invalidate(token)
            token = self._tokens.get()
        return call(token)

    def _with_retries(
        self, method: str, path: str, attempt: Callable[[Secret | None], T], token: Secret | None
    ) -> T:
        try:
            return self._retrying()(attempt, token)
        except httpx.TransportError as exc:
            raise self._connection_error(method, path, exc) from exc

    def _find_started(self, args: InstanceArgs, known: set[str]) -> Instance | None:
        """The instance a start with ``args`` created since ``known`` was listed, if any."""
        requested = args.to_request()
        candidates = [
            instance
            for instance in self.list_instances()
            if instance.instance_id not in known
            and all(
                getattr(instance.instance_args, field) == value
                for field, value in requested.items()
            )
        ]
        if len(candidates) > 1:
            ids = ", ".join(sorted(c.instance_id for c in candidates))
            raise ApiError(
                f"POST {START_PATH} had an unknown outcome and several new instances match "
                f"it ({ids}); another process is starting the same model. Check and delete "
                "the extra ones",
                method="POST",
                path=START_PATH,
            )
        return candidates[0] if candidates else None

    def _send(
        self,
        method: str,
        path: str,
        json: dict[str, Any] | None,
        token: Secret | None,
        parse: Callable[[Body], T],
    ) -> T:
        """One HTTP exchange: a 2xx answer's JSON body read by ``parse``, or the error."""
        # httpx.Headers shows the Authorization value as [secure] in reprs and tracebacks.
        headers = httpx.Headers({"Authorization": f"Bearer {token.reveal()}"} if token else {})
        response = self._http.request(method, path, json=json, headers=headers)
        if response.is_error:
            raise self._error(method, path, response)
        try:
            body = response.json()
            if not isinstance(body, dict):
                raise TypeError(f"a JSON {type(body).__name__} where an object belongs")
            return parse(body)
        # json and pydantic errors are ValueErrors; a missing field is a KeyError.
        except (ValueError, KeyError, TypeError) as exc:
            raise self._malformed(method, path, response, exc) from None

    def _fetch_token(self) -> tuple[Secret, float]:
        if not self._client_id or not self._client_secret.reveal():
            raise MissingCredentialsError(
                "No API credentials: pass client_id and client_secret, or set the "
                "CORTECS_CLIENT_ID and CORTECS_CLIENT_SECRET environment variables (in a "
                "Pulumi stack: cortecs:clientId and cortecs:clientSecret)"
            )
        request = SecretBody(
            client_id=self._client_id,
            client_secret=self._client_secret.reveal(),
            grant_type="client_credentials",
        )
        try:
            return self._request("POST", TOKEN_PATH, _token_of, json=request, authenticated=False)
        except (InvalidRequestError, AuthenticationError) as exc:
            raise AuthenticationError.from_response(
                "POST",
                TOKEN_PATH,
                exc.status_code or 401,
                exc.server_message or "",
                hint=_REFUSED_CREDENTIALS,
            ) from None

    # Errors

    def _retrying(self) -> tenacity.Retrying:
        return _retry.retrying(
            max_attempts=self._max_attempts,
            backoff=self._backoff,
            sleep=self._sleep,
            before_sleep=self._log_retry,
        )

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        logger.info(
            "Attempt %d failed (%s); retrying in %.1f s",
            state.attempt_number,
            self._describe(exc),
            delay,
        )

    def _describe(self, exc: BaseException | None) -> str:
        if isinstance(exc, ApiError):
            return exc.message
        return self._redact(f"{type(exc).__name__}: {exc}")

    def _error(self, method: str, path: str, response: httpx.Response) -> ApiError:
        status = response.status_code
        error_type = _ERRORS_BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
        message = self._redact(_server_message(response))
        error = error_type.from_response(method, path, status, message)
        error.retry_after = _retry.retry_after(response)
        return error

    def _malformed(
        self, method: str, path: str, response: httpx.Response, exc: Exception
    ) -> MalformedResponseError:
        # The token endpoint's body may hold a token the redactor does not know yet.
        snippet = "" if path == TOKEN_PATH else self._redact(response.text.strip()[:_MAX_SNIPPET])
        return MalformedResponseError(
            f"{method} {path} answered HTTP {response.status_code} with a body this client "
            f"cannot read ({self._redact(_unreadable(exc))})" + (f": {snippet}" if snippet else ""),
            method=method,
            path=path,
            status_code=response.status_code,
        )

    def _connection_error(
        self, method: str, path: str, exc: httpx.TransportError
    ) -> ApiConnectionError:
        return ApiConnectionError(
            f"{method} {path} failed: the API at {self._api_base_url} could not be reached or "
            f"the connection broke ({self._describe(exc)})",
            method=method,
            path=path,
        )


def _instance_of(body: Body) -> Instance:
    return Instance.model_validate(body["instance"])


def _observation(instance: Instance, time: float) -> Observation:
    progress = instance.instance_status.init_progress
    return Observation(
        time=time,
        status=instance.status,
        current_step=progress.current_step if progress else None,
        num_steps=progress.num_steps if progress else None,
    )


def _token_of(body: Body) -> tuple[Secret, float]:
    token = body["access_token"]
    if not isinstance(token, str) or not token:
        raise TypeError("access_token is not a non-empty string")
    return Secret(token), float(body.get("expires_in", 3600))


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


def _wait_timeout(instance: Instance, target: str, timeout: float) -> WaitTimeoutError:
    status = instance.status
    progress = instance.instance_status.init_progress
    if progress is not None and status != target:
        step = f"step {progress.current_step}/{progress.num_steps}"
        status = f"{status}, {step} {progress.description}".rstrip()
    error = WaitTimeoutError(
        f"Instance {instance.instance_id} was not {target} after {timeout:g} s; "
        f"last status: {status}",
        method="GET",
        path=f"/instances/{instance.instance_id}",
    )
    error.instance_id = instance.instance_id
    error.last_status = instance.status
    return error

"""A typed, thread-safe client for the cortecs.ai dedicated-instance API.

One :class:`Client` holds one connection pool and one OAuth2 token for all its threads. Safe
calls are retried on transient failures; ``start``, which bills a new instance every time it
is sent, is only sent again once the instance list proves the previous send created nothing
(:mod:`~pulumi_cortecs.api._starts`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import tenacity

from pulumi_cortecs._exceptions import (
    ApiError,
    AuthenticationError,
    InvalidRequestError,
    MissingCredentialsError,
    NotFoundError,
    UncertainStartError,
    UnknownModelError,
)
from pulumi_cortecs._rules import to_hf_name, to_model_id
from pulumi_cortecs._schema import (
    API_BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_WAIT_TIMEOUT_SECONDS,
)
from pulumi_cortecs._urls import DEFAULT_API_BASE_URL, without_userinfo
from pulumi_cortecs.api import _responses, _retry, _waits
from pulumi_cortecs.api._auth import ClientCredentials, Redactor, Secret, SecretBody
from pulumi_cortecs.api._defaults import resolve_defaults
from pulumi_cortecs.api._models import (
    PENDING,
    RUNNING,
    STOPPED,
    HardwareType,
    Instance,
    InstanceArgs,
    ModelPreview,
    ReadList,
    parse_hardware_types,
    parse_instances,
    parse_models,
    similar_models,
)
from pulumi_cortecs.api._poller import StatusPoller
from pulumi_cortecs.api._polling import PollPolicy, ProportionalPollPolicy
from pulumi_cortecs.api._responses import Body
from pulumi_cortecs.api._retry import RetryEvent
from pulumi_cortecs.api._starts import (
    SETTLE_SECONDS,
    START_PATH,
    InMemoryLedger,
    Starter,
    StartIntent,
    StartLedger,
)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

logger = logging.getLogger("pulumi_cortecs.api")

T = TypeVar("T")
TOKEN_PATH = "/oauth2/token"

RetryHook = Callable[[RetryEvent], None]
EVENTS = ("retry",)
"""The events a :class:`Client` calls hooks for (``event_hooks``)."""

_REFUSED_CREDENTIALS = (
    "The client id/secret were refused; check CORTECS_CLIENT_ID and CORTECS_CLIENT_SECRET"
)


class Client:
    """The dedicated-instance API: catalog, instance lifecycle, and waiting for a status.

    Usage::

        with Client() as client:  # credentials from CORTECS_CLIENT_ID/_SECRET
            client.list_models()

    **Parameters:**

    * **client_id** - *(optional)* The OAuth2 client id; default ``CORTECS_CLIENT_ID``.
    * **client_secret** - *(optional)* The OAuth2 client secret; default
      ``CORTECS_CLIENT_SECRET``. Kept wrapped, and redacted from every message and log line.
    * **api_base_url** - *(optional)* The API's URL; default ``CORTECS_API_BASE_URL``, else
      :data:`~pulumi_cortecs.api.DEFAULT_API_BASE_URL`. A user and password in it (a
      gateway's) are sent as basic auth where no token is, and never shown.
    * **timeout** - *(optional)* The timeout of each HTTP request, as httpx takes it (seconds,
      or an :class:`httpx.Timeout`); default 30 s, 10 s to connect.
    * **max_attempts** - *(optional)* Tries per call, at least 1; a call is tried again only
      after a transient failure (429, 5xx, a connection error) and only when repeating it is
      safe. Default 5.
    * **max_backoff** - *(optional)* The longest wait between two tries, in seconds. The
      waits double from 0.5 s; a server's ``Retry-After`` replaces them, but a 429's only
      lengthens them (a rate limit is not eased by trying sooner). Default 30.
    * **sleep** - *(optional)* How the client waits (between tries and polls); default
      :func:`time.sleep`. Tests pass a fake clock's.
    * **clock** - *(optional)* Monotonic seconds, for timeouts and polling; default
      :func:`time.monotonic`.
    * **transport** - *(optional)* The httpx transport requests go through (e.g. a mock);
      default httpx's.
    * **poll_policy** - *(optional)* Makes a fresh :class:`~pulumi_cortecs.api.PollPolicy` for
      each wait; default :class:`~pulumi_cortecs.api.ProportionalPollPolicy`.
    * **settle_seconds** - *(optional)* After a start whose answer was lost, how long the
      instance list is watched for the instance it may have made before the start is judged.
    * **event_hooks** - *(optional)* A mapping of event names to lists of callables, as httpx
      takes them. The one event is ``"retry"``: each hook gets a
      :class:`~pulumi_cortecs.api.RetryEvent` before the client waits to try a call again.
      Hooks can also be added later, through :attr:`event_hooks`.
    """

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
        poll_policy: Callable[[], PollPolicy] = ProportionalPollPolicy,
        settle_seconds: float = SETTLE_SECONDS,
        event_hooks: Mapping[str, Sequence[RetryHook]] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._client_id = CLIENT_ID.value(client_id)
        self._client_secret = Secret(CLIENT_SECRET.value(client_secret) or "")
        base_url = (API_BASE_URL.value(api_base_url) or DEFAULT_API_BASE_URL).rstrip("/")
        # Kept out of every URL the client shows or httpx logs; see _userinfo_auth.
        self._api_base_url = without_userinfo(base_url)
        self._max_attempts = max_attempts
        self._backoff = _retry.Backoff(max_backoff)
        self._sleep = sleep
        self._clock = clock
        self._poll_policy = poll_policy
        self.event_hooks = event_hooks or {}
        self._redact = Redactor()
        self._redact.add(self._client_secret)
        self._url_auth = _userinfo_auth(base_url, self._redact)
        self._auth = ClientCredentials(
            self._fetch_token,
            clock=clock,
            redactor=self._redact,
            max_renewals=max_attempts - 1,
        )
        self._ledger = InMemoryLedger()
        self._settle_seconds = settle_seconds
        self._launches = _waits.Launches()
        self._poller = StatusPoller(self.list_instances, clock)
        self._http = httpx.Client(
            base_url=self._api_base_url,
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            headers={"Accept": "application/json"},
        )

    @property
    def event_hooks(self) -> dict[str, list[RetryHook]]:
        """The hooks by event (``{"retry": [...]}``); append to a list to add one."""
        return self._event_hooks

    @event_hooks.setter
    def event_hooks(self, hooks: Mapping[str, Sequence[RetryHook]]) -> None:
        unknown = sorted(set(hooks) - set(EVENTS))
        if unknown:
            raise ValueError(f"unknown event {unknown[0]!r}; events are {', '.join(EVENTS)}")
        self._event_hooks = {event: list(hooks.get(event, ())) for event in EVENTS}

    @property
    def api_base_url(self) -> str:
        """The API's URL, without the user or password it may have been given with."""
        return self._api_base_url

    @property
    def client_secret(self) -> Secret:
        """The client secret, wrapped so it never prints (a preview checks its shape)."""
        return self._client_secret

    def poll_policy(self) -> PollPolicy:
        """A fresh policy of the kind this client's waits poll by (for a readiness probe too)."""
        return self._poll_policy()

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

    def list_models(self) -> ReadList[ModelPreview]:
        return self._request(
            "GET",
            "/models/",
            lambda body: parse_models(body["models"]),
            authenticated=False,
        )

    def get_model(self, model_id: str) -> ModelPreview:
        return self._request(
            "GET",
            f"/models/{_segment(to_model_id(model_id))}",
            lambda body: ModelPreview.model_validate(body["model"]),
            authenticated=False,
        )

    def _model_to_start(self, model_id: str) -> ModelPreview:
        """The model's detail; a model the catalog lacks is an :class:`UnknownModelError`
        offering close Hugging Face names (``args`` keep no trace of the form typed)."""
        try:
            return self.get_model(model_id)
        except NotFoundError as missing:
            name = to_hf_name(model_id)
            raise UnknownModelError(name, similar_models(name, self.list_models())) from missing

    def list_hardware_types(self, available_only: bool = False) -> ReadList[HardwareType]:
        path = "/hardware-types/available" if available_only else "/hardware-types/"
        return self._request(
            "GET",
            path,
            lambda body: parse_hardware_types(body["hardware_types"]),
            authenticated=False,
        )

    # Instances

    def authenticate(self) -> None:
        """Make sure a token can be had (fetching one if none is held); raise if not."""
        self._auth.token()

    def list_instances(self) -> ReadList[Instance]:
        """Every instance of the account; one that cannot be read is left out, logged and kept
        in the result's ``unreadable``."""
        return self._request(
            "GET",
            "/instances/",
            lambda body: parse_instances(body["instances"]),
        )

    def get_instance(self, instance_id: str) -> Instance:
        return self._request("GET", f"/instances/{_segment(instance_id)}", _instance_of)

    def find_instance(self, instance_id: str, *, timeout: float = 60.0) -> Instance | None:
        """The instance as the API confirms it, or ``None`` once it is confirmed gone: unlike
        :meth:`get_instance`, an unreadable answer or a single 404 is asked again, and gone
        means 404s over a short window that the instance list agrees with."""
        try:
            return self._wait(instance_id, _waits.ANY_STATUS, timeout, None)
        except NotFoundError:
            return None  # a wait raises it only for an instance confirmed gone

    def start(
        self,
        args: InstanceArgs,
        *,
        resolved: InstanceArgs | None = None,
        ledger: StartLedger | None = None,
        take_uncertain: bool = True,
    ) -> Instance:
        """Start one instance, exactly once: a send whose outcome is unknown is reconciled
        against the instance list, never resent blindly (see :mod:`~pulumi_cortecs.api._starts`).

        ``resolved`` are ``args`` with the API's defaults filled in (fetched from the catalog
        when not given): an uncertain start is matched on all of them. ``ledger`` is where the
        start is written ahead (default: this client's own record of its starts); a provider
        passes its journal, so that processes sharing it tell their instances apart.
        ``take_uncertain=False`` never takes the only new instance after a lost answer (another
        start with the same arguments, unknown to the ledger, may have made it): it fails with
        :class:`UncertainStartError` naming it.
        """
        resolved = resolved or resolve_defaults(args, self._model_to_start(args.model_id))
        ledger = ledger or self._ledger
        # Any list sent from now on will do: starts at once share one.
        listed = self._poller.listing(after=self._clock()).answer()
        snapshot = frozenset(instance.instance_id for instance in listed)
        intent = StartIntent(resolved, snapshot)
        ledger.begin(intent)
        starter = Starter(
            intent,
            ledger,
            send=lambda: self._send("POST", START_PATH, _instance_of, args.to_request()),
            list_instances=self.list_instances,
            describe=self._describe,
            clock=self._clock,
            sleep=self._sleep,
            settle_seconds=self._settle_seconds,
            take_uncertain=take_uncertain,
        )
        sent_at = self._clock()
        try:
            instance = self._with_retries("POST", START_PATH, starter.attempt)
        except UncertainStartError:
            raise
        except BaseException:
            if starter.outcome_unknown:
                ledger.unresolved(intent, ())
            else:
                ledger.abandon(intent)
            raise
        ledger.started(intent, instance.instance_id)
        self._launches.remember(instance, sent_at)
        return instance

    def restart(self, instance_id: str) -> Instance:
        """Send a stopped instance back to pending.

        A retry after a lost answer is refused (the instance no longer is stopped); an instance
        that is then pending or running counts as restarted.
        """
        sent_at = self._clock()
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
        self._launches.remember(instance, sent_at)
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
        self._launches.forget(instance_id)
        return stopped

    def delete(self, instance_id: str) -> str:
        """Delete a stopped instance; a retry answered 404 after a lost answer counts as done."""
        deleted = self._mutate(
            "DELETE",
            f"/instances/{_segment(instance_id)}",
            None,
            lambda body: str(body["instance_id"]),
            lambda refusal: instance_id if isinstance(refusal, NotFoundError) else None,
        )
        self._launches.forget(instance_id)
        return deleted

    def _instance_unless(self, instance_id: str, *statuses: str) -> Instance | None:
        instance = self.get_instance(instance_id)
        return None if instance.status in statuses else instance

    # Waiting

    def wait_until_running(
        self,
        instance_id: str,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT_SECONDS,
        on_progress: Callable[[Instance], None] | None = None,
    ) -> Instance:
        """Poll until the instance runs; fail fast if it is stopped instead. Only a confirmed
        state ends the wait: an unreadable answer or a 404 is asked again, and
        :class:`NotFoundError` means the instance is confirmed gone (see :meth:`find_instance`)."""
        return self._wait(instance_id, RUNNING, timeout, on_progress)

    def wait_until_stopped(
        self,
        instance_id: str,
        *,
        timeout: float = _waits.STOP_TIMEOUT_SECONDS,
        on_progress: Callable[[Instance], None] | None = None,
    ) -> Instance:
        return self._wait(instance_id, STOPPED, timeout, on_progress)

    def _wait(
        self,
        instance_id: str,
        target: str | None,
        timeout: float,
        on_progress: Callable[[Instance], None] | None,
    ) -> Instance:
        return _waits.wait_for(
            instance_id,
            target,
            get_instance=self.get_instance,
            list_instances=self.list_instances,
            poller=self._poller,
            policy=self._poll_policy(),
            launches=self._launches,
            timeout=timeout,
            on_progress=on_progress,
            clock=self._clock,
            sleep=self._sleep,
        )

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
        if authenticated:
            # Fetched with its own retries before this call's, not again inside each of them.
            self._auth.token()
        return self._with_retries(
            method, path, lambda: self._send(method, path, parse, json, authenticated=authenticated)
        )

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

        def attempt() -> T:
            nonlocal uncertain
            try:
                return self._send(method, path, parse, json)
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

        self._auth.token()  # as in _request: its own retries, before this call's
        return self._with_retries(method, path, attempt)

    def _with_retries(self, method: str, path: str, attempt: Callable[[], T]) -> T:
        retrying = _retry.retrying(
            max_attempts=self._max_attempts,
            backoff=self._backoff,
            sleep=self._sleep,
            before_sleep=lambda state: self._retrying(method, path, state),
        )
        try:
            return retrying(attempt)
        except httpx.TransportError as exc:
            raise _responses.connection_error(
                method, path, exc, self._api_base_url, self._describe(exc)
            ) from exc

    def _send(
        self,
        method: str,
        path: str,
        parse: Callable[[Body], T],
        json: dict[str, Any] | None = None,
        *,
        authenticated: bool = True,
    ) -> T:
        """One HTTP exchange: a 2xx answer's JSON body read by ``parse``, or the error."""
        auth = self._auth if authenticated else self._url_auth
        response = self._http.request(method, path, json=json, auth=auth)
        return _responses.read(
            method, path, response, parse, self._redact, quote_body=path != TOKEN_PATH
        )

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

    # Retries: logged, and told to the hooks

    def _retrying(self, method: str, path: str, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        event = RetryEvent(
            method=method,
            path=path,
            attempt=state.attempt_number,
            max_attempts=self._max_attempts,
            reason=self._describe(exc),
            delay=state.next_action.sleep if state.next_action else 0.0,
        )
        logger.info(
            "Attempt %d failed (%s); retrying in %.1f s",
            event.attempt,
            event.reason,
            event.delay,
            extra={"retry_event": event},
        )
        for hook in self._event_hooks["retry"]:
            hook(event)

    def _describe(self, exc: BaseException | None) -> str:
        if isinstance(exc, ApiError):
            return exc.message
        return self._redact(f"{type(exc).__name__}: {exc}")


def _segment(value: str) -> str:
    """``value`` as one segment of a URL's path: a ``/``, ``?`` or ``#`` in an id cannot make
    a request name another resource (``DELETE /instances/instance-1#x`` is not instance-1)."""
    return quote(value, safe="")


def _userinfo_auth(url: str, redact: Redactor) -> httpx.BasicAuth | None:
    """Basic auth for a URL's user and password (a gateway's), sent where no token is, as httpx
    itself would send them; their secret part joins the redactor. ``None`` without userinfo."""
    parsed = httpx.URL(url)
    if not parsed.userinfo:
        return None
    # A user without a password is a token (``https://TOKEN@host``).
    redact.add(Secret(parsed.password or parsed.username))
    return httpx.BasicAuth(parsed.username, parsed.password)


def _instance_of(body: Body) -> Instance:
    return Instance.model_validate(body["instance"])


def _token_of(body: Body) -> tuple[Secret, float]:
    token = body["access_token"]
    if not isinstance(token, str) or not token:
        raise TypeError("access_token is not a non-empty string")
    return Secret(token), float(body.get("expires_in", 3600))

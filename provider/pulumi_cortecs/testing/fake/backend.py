"""The fake API's state and rules, independent of how requests reach it.

Transports (:mod:`~pulumi_cortecs.testing.fake.mock` in-process,
:mod:`~pulumi_cortecs.testing.fake.server` over HTTP) turn their requests into
:class:`FakeRequest` and deliver the :class:`FakeResponse`. Everything here runs under one
lock, because the HTTP server is threaded and a Pulumi provider calls from several threads.
Time comes only from the injected clock, so a :class:`ManualClock` makes lifecycles
deterministic.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

from pulumi_cortecs.api._models import STOPPED
from pulumi_cortecs.testing.fake.catalog import AVAILABLE_HARDWARE_TYPE_IDS, HARDWARE_TYPES, MODELS
from pulumi_cortecs.testing.fake.clock import ManualClock
from pulumi_cortecs.testing.fake.faults import API_PREFIX, Faults, api_path
from pulumi_cortecs.testing.fake.instances import FakeInstance, ResponseShape
from pulumi_cortecs.testing.fake.serving import ServingContext, serve
from pulumi_cortecs.testing.fake.start_args import MODELS_BY_ID, resolve_start_args
from pulumi_cortecs.testing.fake.tokens import TokenStore
from pulumi_cortecs.testing.fake.wire import (
    FakeRequest,
    FakeResponse,
    HttpError,
    error_response,
    json_response,
)

# The credentials the fake accepts unless told otherwise, for demos and tests.
DEMO_CLIENT_ID = "demo-client-id"
DEMO_CLIENT_SECRET = "demo-client-secret"
DEMO_API_KEY = "demo-api-key"

_SERVE_PATH = re.compile(r"^/serve/(?P<instance_id>[^/]+)/v1(?P<route>/.*)?$")

Handler = Callable[[FakeRequest, "re.Match[str]"], FakeResponse]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    needs_token: bool


def _model_preview(model: dict[str, Any]) -> dict[str, Any]:
    preview = {k: v for k, v in model.items() if k != "recommended_config"}
    preview["hardware_configs"] = list(model["hardware_configs"])
    return preview


def _model_detail(model: dict[str, Any]) -> dict[str, Any]:
    detail = dict(model)
    detail["hardware_configs"] = {
        hw: {"params": {"max_context_length": n}} for hw, n in model["hardware_configs"].items()
    }
    return detail


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


class FakeBackend:
    """A stateful stand-in for the cortecs.ai instance API and the instances it runs.

    Public state is for assertions: ``instances`` (not deleted), ``deleted_ids``, ``calls``
    (method and path, trailing slash removed, of every request but admin ones),
    ``token_fetches`` (tokens issued), ``starts`` (instances created) and ``faults``.

    ``sleep`` defaults to ``clock.advance`` for a :class:`ManualClock` (so injected latency
    passes instantly in fake time) and to ``time.sleep`` otherwise.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        step_seconds: float = 1.0,
        num_steps: int = 5,
        token_ttl: float = 3600.0,
        response_shape: Literal["newer", "older"] = "newer",
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        api_key: str = DEMO_API_KEY,
        serving_delay: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.clock = clock
        if sleep is None:
            sleep = clock.advance if isinstance(clock, ManualClock) else time.sleep
        self.sleep = sleep
        self.step_seconds = step_seconds
        self.num_steps = num_steps
        self.token_ttl = token_ttl
        self.response_shape: ResponseShape = response_shape
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_key = api_key
        self.serving_delay = serving_delay
        self.faults = Faults()
        self.instances: dict[str, FakeInstance] = {}
        self.deleted_ids: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.token_fetches = 0
        self.starts = 0
        self._lock = threading.RLock()
        self._tokens = TokenStore(seed)
        self._instance_numbers = iter(range(1, 1 << 62))
        self._completions = 0
        self._routes = self._build_routes()

    # -- handling requests ------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        """Answer one request to the API (``/api/v1/...``) or an instance (``/serve/...``)."""
        path = request.path.rstrip("/") or "/"
        with self._lock:
            self.calls.append((request.method.upper(), path))
            if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                return self._handle_api(request, path)
            served = _SERVE_PATH.match(path)
            if served:
                self._completions += 1
                context = ServingContext(
                    now=self.clock(),
                    api_key=self.api_key,
                    serving_delay=self.serving_delay,
                    completion_number=self._completions,
                )
                instance = self.instances.get(served["instance_id"])
                return serve(request, instance, served["route"] or "/", context)
            return error_response(HttpError(404, "Not Found"))

    def _handle_api(self, request: FakeRequest, path: str) -> FakeResponse:
        action = self.faults.decide(request.method, path)
        delay = self.faults.latency + action.extra_delay
        if action.expire_tokens:
            self._tokens.expire_all()
        if action.drop_before:
            return FakeResponse(status=0, delay=delay, drop=True, processed=False)
        if action.status is not None:
            headers = {}
            if action.retry_after is not None:
                headers["retry-after"] = _format_seconds(action.retry_after)
            phrase = HTTPStatus(action.status).phrase
            response = error_response(HttpError(action.status, f"{phrase} (injected)", headers))
            response.delay = delay
            response.processed = False
            return response
        try:
            response = self._dispatch(request, api_path(path))
        except HttpError as error:
            response = error_response(error)
        if action.drop_after:
            return FakeResponse(status=0, delay=delay, drop=True, processed=True)
        response.delay = delay
        return response

    def _dispatch(self, request: FakeRequest, path: str) -> FakeResponse:
        method = request.method.upper()
        matched = [(route, m) for route in self._routes if (m := route.pattern.fullmatch(path))]
        if not matched:
            raise HttpError(404, "Not Found")
        for route, match in matched:
            if route.method == method:
                if route.needs_token:
                    self._tokens.check(
                        request.headers.get("authorization"), self.clock(), self.token_ttl
                    )
                return route.handler(request, match)
        raise HttpError(405, "Method Not Allowed")

    def _build_routes(self) -> list[_Route]:
        # Order matters where patterns overlap: fixed paths come before /instances/{id}.
        table: list[tuple[str, str, Handler, bool]] = [
            ("POST", "/oauth2/token", self._token, False),
            ("GET", "/models", self._list_models, False),
            ("GET", "/models/(?P<model_id>[^/]+)", self._get_model, False),
            ("GET", "/hardware-types", self._hardware_types, False),
            ("GET", "/hardware-types/available", self._available_hardware_types, False),
            ("POST", "/instances/start", self._start, True),
            ("GET", "/instances", self._list_instances, True),
            ("POST", "/instances/stop", self._stop, True),
            ("POST", "/instances/restart", self._restart, True),
            ("POST", "/instances/stop-all", self._stop_all, True),
            ("DELETE", "/instances/delete-all", self._delete_all, True),
            ("GET", "/instances/(?P<instance_id>[^/]+)", self._get_instance, True),
            ("DELETE", "/instances/(?P<instance_id>[^/]+)", self._delete, True),
        ]
        return [_Route(m, re.compile(p), h, auth) for m, p, h, auth in table]

    # -- API endpoints (called with the lock held) ------------------------------------------

    def _token(self, request: FakeRequest, _: re.Match[str]) -> FakeResponse:
        body = request.form_or_json()
        client_id, secret = body.get("client_id"), body.get("client_secret")
        if not isinstance(client_id, str) or not isinstance(secret, str):
            raise HttpError(400, "client_id and client_secret are required strings")
        if body.get("grant_type", "client_credentials") != "client_credentials":
            raise HttpError(400, "grant_type must be client_credentials")
        if not (
            hmac.compare_digest(client_id, self.client_id)
            and hmac.compare_digest(secret, self.client_secret)
        ):
            raise HttpError(401, "invalid client credentials")
        self.token_fetches += 1
        token = self._tokens.issue(self.clock())
        return json_response(
            200, {"access_token": token, "token_type": "Bearer", "expires_in": int(self.token_ttl)}
        )

    def _list_models(self, _: FakeRequest, __: re.Match[str]) -> FakeResponse:
        return json_response(200, {"models": [_model_preview(m) for m in MODELS]})

    def _get_model(self, _: FakeRequest, match: re.Match[str]) -> FakeResponse:
        model = MODELS_BY_ID.get(match["model_id"])
        if model is None:
            raise HttpError(404, f"model {match['model_id']} not found")
        return json_response(200, {"model": _model_detail(model)})

    def _hardware_types(self, _: FakeRequest, __: re.Match[str]) -> FakeResponse:
        return json_response(200, {"hardware_types": HARDWARE_TYPES})

    def _available_hardware_types(self, _: FakeRequest, __: re.Match[str]) -> FakeResponse:
        available = [
            hw for hw in HARDWARE_TYPES if hw["hardware_type_id"] in AVAILABLE_HARDWARE_TYPE_IDS
        ]
        return json_response(200, {"hardware_types": available})

    def _start(self, request: FakeRequest, _: re.Match[str]) -> FakeResponse:
        args = resolve_start_args(request.json_object())
        instance = FakeInstance(
            instance_id=f"instance-{next(self._instance_numbers)}",
            args=args,
            launched_at=self.clock(),
            step_seconds=self.step_seconds,
            num_steps=self.num_steps,
        )
        self.instances[instance.instance_id] = instance
        self.starts += 1
        return self._instance_reply(request, instance, "Instance is starting.")

    def _list_instances(self, request: FakeRequest, _: re.Match[str]) -> FakeResponse:
        now = self.clock()
        listed = [
            i.to_api(now, request.url_origin, self.response_shape) for i in self.instances.values()
        ]
        return json_response(200, {"instances": listed})

    def _get_instance(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        instance = self._existing(match["instance_id"])
        payload = instance.to_api(self.clock(), request.url_origin, self.response_shape)
        return json_response(200, {"instance": payload})

    def _stop(self, request: FakeRequest, _: re.Match[str]) -> FakeResponse:
        instance = self._existing(self._instance_id_in(request))
        if instance.status(self.clock()) == STOPPED:
            return self._instance_reply(request, instance, "Instance is already stopped.")
        instance.stop(self.clock())
        return self._instance_reply(request, instance, "Instance stopped.")

    def _restart(self, request: FakeRequest, _: re.Match[str]) -> FakeResponse:
        instance = self._existing(self._instance_id_in(request))
        status = instance.status(self.clock())
        if status != STOPPED:
            raise HttpError(
                400, f"instance {instance.instance_id} is {status}; only a stopped one restarts"
            )
        instance.relaunch(self.clock(), self.step_seconds, self.num_steps)
        return self._instance_reply(request, instance, "Instance is restarting.")

    def _delete(self, _: FakeRequest, match: re.Match[str]) -> FakeResponse:
        instance = self._existing(match["instance_id"])
        status = instance.status(self.clock())
        if status != STOPPED:
            raise HttpError(
                400, f"instance {instance.instance_id} is {status}; stop it before deleting"
            )
        self._remove(instance.instance_id)
        return json_response(200, {"instance_id": instance.instance_id})

    def _stop_all(self, _: FakeRequest, __: re.Match[str]) -> FakeResponse:
        now = self.clock()
        stopped = [i for i in self.instances.values() if i.status(now) != STOPPED]
        for instance in stopped:
            instance.stop(now)
        return json_response(200, {"instance_ids": [i.instance_id for i in stopped]})

    def _delete_all(self, request: FakeRequest, _: re.Match[str]) -> FakeResponse:
        force = request.query.get("force_deletion", "false").lower()
        if force not in ("true", "false"):
            raise HttpError(400, "force_deletion must be true or false")
        now = self.clock()
        doomed = [
            i.instance_id
            for i in self.instances.values()
            if force == "true" or i.status(now) == STOPPED
        ]
        for instance_id in doomed:
            self.instances[instance_id].stop(now)
            self._remove(instance_id)
        return json_response(200, {"instance_ids": doomed})

    # -- helpers ---------------------------------------------------------------------------

    def _instance_reply(
        self, request: FakeRequest, instance: FakeInstance, message: str
    ) -> FakeResponse:
        payload = instance.to_api(self.clock(), request.url_origin, self.response_shape)
        return json_response(200, {"message": message, "instance": payload})

    @staticmethod
    def _instance_id_in(request: FakeRequest) -> str:
        instance_id = request.json_object().get("instance_id")
        if not isinstance(instance_id, str) or not instance_id:
            raise HttpError(400, "instance_id is required and must be a string")
        return instance_id

    def _existing(self, instance_id: str) -> FakeInstance:
        instance = self.instances.get(instance_id)
        if instance is None:
            raise HttpError(404, f"instance {instance_id} not found")
        return instance

    def _remove(self, instance_id: str) -> None:
        del self.instances[instance_id]
        self.deleted_ids.add(instance_id)

    # -- out-of-band control, for tests and the admin endpoints ----------------------------

    def stop_instance(self, instance_id: str) -> None:
        """Stop an instance behind the client's back (e.g. to model drift); KeyError if unknown."""
        with self._lock:
            self.instances[instance_id].stop(self.clock())

    def delete_instance(self, instance_id: str) -> None:
        """Stop (if needed) and delete an instance behind the client's back; KeyError if unknown."""
        with self._lock:
            self.instances[instance_id].stop(self.clock())
            self._remove(instance_id)

    def expire_tokens(self) -> None:
        """Make every issued token invalid, as if they had all reached their TTL."""
        with self._lock:
            self._tokens.expire_all()

    def configure(self, **settings: Any) -> None:
        """Change settings at runtime: step_seconds, num_steps, serving_delay, token_ttl,
        response_shape, api_key, client_id, client_secret. Instances already launched keep
        their init schedule; tokens already issued stay valid."""
        checks: dict[str, Callable[[Any], bool]] = {
            "step_seconds": lambda v: isinstance(v, (int, float)) and v >= 0,
            "num_steps": lambda v: isinstance(v, int) and v >= 1,
            "serving_delay": lambda v: isinstance(v, (int, float)) and v >= 0,
            "token_ttl": lambda v: isinstance(v, (int, float)) and v > 0,
            "response_shape": lambda v: v in ("newer", "older"),
            "api_key": lambda v: isinstance(v, str) and bool(v),
            "client_id": lambda v: isinstance(v, str) and bool(v),
            "client_secret": lambda v: isinstance(v, str) and bool(v),
        }
        for name, value in settings.items():
            if name not in checks:
                raise ValueError(f"unknown setting {name!r}; known: {', '.join(checks)}")
            if isinstance(value, bool) or not checks[name](value):
                raise ValueError(f"invalid value for {name}")
        with self._lock:
            for name, value in settings.items():
                setattr(self, name, value)

    def reset(self) -> None:
        """Forget all instances, calls, counters and faults; settings and tokens stay.

        Instance numbers keep counting, so an id from before a reset is never handed out again.
        """
        with self._lock:
            self.instances.clear()
            self.deleted_ids.clear()
            self.calls.clear()
            self.token_fetches = 0
            self.starts = 0
            self.faults.clear()
            self.faults.reset_counts()

    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-able data, for assertions from another process."""
        with self._lock:
            now = self.clock()
            return {
                "now": now,
                "instances": [i.summary(now) for i in self.instances.values()],
                "deleted_ids": sorted(self.deleted_ids),
                "starts": self.starts,
                "token_fetches": self.token_fetches,
                "calls": [list(call) for call in self.calls],
                "faults_injected": self.faults.counts(),
            }

"""Routes: which response handler answers which request, and the one entry both transports call.

:data:`API_ROUTES` is the whole API in one table (method, path pattern, handler, whether it
needs a bearer token), as moto's ``urls.py``. :func:`handle` answers any request to the fake's
origin: the API (through the faults), an instance's own OpenAI-compatible API, or the admin
endpoints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pulumi_cortecs.testing.fake import _responses
from pulumi_cortecs.testing.fake._admin import handle_admin
from pulumi_cortecs.testing.fake._backend import FakeBackend
from pulumi_cortecs.testing.fake._constants import ADMIN_PREFIX, API_PREFIX, api_path
from pulumi_cortecs.testing.fake._exceptions import FakeApiError, NotFound
from pulumi_cortecs.testing.fake._serving import ServingContext, serve
from pulumi_cortecs.testing.fake._wire import FakeRequest, FakeResponse, HttpError, error_response


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    respond: _responses.Handler
    needs_token: bool


def _table(rows: list[tuple[str, str, _responses.Handler, bool]]) -> tuple[Route, ...]:
    return tuple(Route(m, re.compile(path), handler, auth) for m, path, handler, auth in rows)


# Paths are relative to /api/v1, without a trailing slash (both spellings are served). Order
# matters where patterns overlap: fixed paths come before /instances/{instance_id}.
API_ROUTES = _table(
    [
        ("POST", "/oauth2/token", _responses.token, False),
        ("GET", "/models", _responses.list_models, False),
        ("GET", "/models/(?P<model_id>[^/]+)", _responses.get_model, False),
        ("GET", "/hardware-types", _responses.hardware_types, False),
        ("GET", "/hardware-types/available", _responses.available_hardware_types, False),
        ("POST", "/instances/start", _responses.start, True),
        ("GET", "/instances", _responses.list_instances, True),
        ("POST", "/instances/stop", _responses.stop, True),
        ("POST", "/instances/restart", _responses.restart, True),
        ("POST", "/instances/stop-all", _responses.stop_all, True),
        ("DELETE", "/instances/delete-all", _responses.delete_all, True),
        ("GET", "/instances/(?P<instance_id>[^/]+)", _responses.get_instance, True),
        ("DELETE", "/instances/(?P<instance_id>[^/]+)", _responses.delete, True),
    ]
)
SERVE_PATH = re.compile(r"^/serve/(?P<instance_id>[^/]+)/v1(?P<route>/.*)?$")


def _bearer(request: FakeRequest) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def dispatch(backend: FakeBackend, request: FakeRequest, path: str) -> FakeResponse:
    """The API's own answer to a request for ``path`` (relative to the API prefix)."""
    method = request.method.upper()
    try:
        matched = [(r, m) for r in API_ROUTES if (m := r.pattern.fullmatch(path))]
        if not matched:
            raise HttpError(404, "Not Found")
        for route, match in matched:
            if route.method == method:
                if route.needs_token:
                    backend.authenticate(_bearer(request))
                return route.respond(backend, request, match.groupdict())
        raise HttpError(405, "Method Not Allowed")
    except FakeApiError as error:
        return _responses.error_answer(error)
    except HttpError as error:
        return error_response(error)


@dataclass(frozen=True)
class _ApiCall:
    """One API call as a fault sees it (:class:`~pulumi_cortecs.testing.fake._faults.Call`)."""

    backend: FakeBackend
    request: FakeRequest
    method: str
    path: str

    def proceed(self) -> FakeResponse:
        return dispatch(self.backend, self.request, self.path)

    def expire_tokens(self) -> None:
        self.backend.expire_tokens()

    def not_found(self) -> FakeResponse:
        params = next(
            (
                m.groupdict()
                for r in API_ROUTES
                if r.method == self.method and (m := r.pattern.fullmatch(self.path))
            ),
            {},
        )
        if "instance_id" in params:
            return _responses.error_answer(NotFound.instance(params["instance_id"]))
        if "model_id" in params:
            return _responses.error_answer(NotFound.model(params["model_id"]))
        return error_response(HttpError(404, "Not Found"))


def _answer_api(backend: FakeBackend, request: FakeRequest, path: str) -> FakeResponse:
    call = _ApiCall(backend, request, request.method.upper(), api_path(path))
    injection = backend.faults.decide(call.method, call.path)
    response = call.proceed() if injection is None else injection.apply(backend.faults, call)
    response.delay += backend.faults.latency
    return response


def handle(backend: FakeBackend, request: FakeRequest) -> FakeResponse:
    """Answer one request to the fake's origin: ``/api/v1/...``, ``/serve/...`` or ``/_fake/...``.

    Admin requests are neither recorded in ``calls`` nor faulted, so a test can steer the fake
    without disturbing what it asserts about the client.
    """
    path = request.path.rstrip("/") or "/"
    if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
        return handle_admin(backend, request)
    with backend.lock:
        backend.calls.append((request.method.upper(), path))
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            return _answer_api(backend, request, path)
        served = SERVE_PATH.match(path)
        if served:
            backend.serve_requests += 1
            context = ServingContext(
                now=backend.clock(),
                api_key=backend.api_key,
                serving_delay=backend.serving_delay,
                completion_number=backend.serve_requests,
                ingress_errors=backend.ingress_errors,
            )
            instance = backend.instances.get(served["instance_id"])
            return serve(request, instance, served["route"] or "/", context)
        return error_response(HttpError(404, "Not Found"))

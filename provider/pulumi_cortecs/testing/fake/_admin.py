"""Admin endpoints under ``/_fake/``: drive a fake that runs in another process.

They are never faulted and never recorded in ``calls``, so a test can inspect and steer the
fake without disturbing what it asserts about the client:

- ``GET /_fake/state``: :meth:`FakeBackend.snapshot`.
- ``POST /_fake/faults``: an object whose keys are
  :data:`~pulumi_cortecs.testing.fake._faults.FAULT_COMMANDS` (``inject`` reaches every kind).
- ``POST /_fake/config``: :meth:`FakeBackend.configure`'s settings.
- ``POST /_fake/instances``: ``{"instance_args": {...}, "status": "running", "extra": {...}}``
  adds an instance someone else started (:meth:`FakeBackend.add_foreign_instance`).
- ``POST /_fake/instances/{id}/stop``, ``DELETE /_fake/instances/{id}``: out-of-band changes.
- ``POST /_fake/expire-tokens``, ``POST /_fake/reset``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from pulumi_cortecs.testing.fake._backend import FakeBackend
from pulumi_cortecs.testing.fake._faults import FAULT_COMMANDS
from pulumi_cortecs.testing.fake._wire import (
    FakeRequest,
    FakeResponse,
    HttpError,
    error_response,
    json_response,
)

AdminHandler = Callable[[FakeBackend, FakeRequest, Mapping[str, str]], FakeResponse]


def _state(backend: FakeBackend, _: FakeRequest, __: Mapping[str, str]) -> FakeResponse:
    return json_response(200, backend.snapshot())


def _faults(backend: FakeBackend, request: FakeRequest, _: Mapping[str, str]) -> FakeResponse:
    for name, value in request.json_object().items():
        command = FAULT_COMMANDS.get(name)
        if command is None:
            known = ", ".join(FAULT_COMMANDS)
            raise HttpError(400, f"unknown fault {name!r}; known: {known}")
        try:
            command(backend.faults, value)
        except (TypeError, ValueError) as error:
            raise HttpError(400, f"{name}: {error}") from None
    return json_response(200, {"faults_injected": backend.faults.counts()})


def _expire_tokens(backend: FakeBackend, _: FakeRequest, __: Mapping[str, str]) -> FakeResponse:
    backend.expire_tokens()
    return json_response(200, {})


def _config(backend: FakeBackend, request: FakeRequest, _: Mapping[str, str]) -> FakeResponse:
    try:
        backend.configure(**request.json_object())
    except ValueError as error:
        raise HttpError(400, str(error)) from None
    return json_response(200, {})


def _reset(backend: FakeBackend, _: FakeRequest, __: Mapping[str, str]) -> FakeResponse:
    backend.reset()
    return json_response(200, {})


def _add_instance(backend: FakeBackend, request: FakeRequest, _: Mapping[str, str]) -> FakeResponse:
    body = request.json_object()
    unknown = set(body) - {"instance_args", "status", "extra"}
    if unknown:
        raise HttpError(400, f"unknown keys {sorted(unknown)}; known: instance_args, status, extra")
    args, extra = body.get("instance_args"), body.get("extra") or {}
    if not isinstance(args, dict) or not isinstance(extra, dict):
        raise HttpError(400, "instance_args (and extra, if given) must be objects")
    try:
        instance = backend.add_foreign_instance(
            args, status=body.get("status", "running"), extra=extra
        )
    except ValueError as error:
        raise HttpError(400, str(error)) from None
    return json_response(200, {"instance_id": instance.instance_id})


def _out_of_band(action: Callable[[FakeBackend, str], None]) -> AdminHandler:
    def respond(backend: FakeBackend, _: FakeRequest, params: Mapping[str, str]) -> FakeResponse:
        instance_id = params["instance_id"]
        try:
            action(backend, instance_id)
        except KeyError:
            raise HttpError(404, f"instance {instance_id} not found") from None
        return json_response(200, {"instance_id": instance_id})

    return respond


_INSTANCE = "/_fake/instances/(?P<instance_id>[^/]+)"
ADMIN_ROUTES: tuple[tuple[str, re.Pattern[str], AdminHandler], ...] = tuple(
    (method, re.compile(path), respond)
    for method, path, respond in [
        ("GET", "/_fake/state", _state),
        ("POST", "/_fake/faults", _faults),
        ("POST", "/_fake/expire-tokens", _expire_tokens),
        ("POST", "/_fake/config", _config),
        ("POST", "/_fake/reset", _reset),
        ("POST", "/_fake/instances", _add_instance),
        ("POST", f"{_INSTANCE}/stop", _out_of_band(FakeBackend.stop_instance)),
        ("DELETE", _INSTANCE, _out_of_band(FakeBackend.delete_instance)),
    ]
)


def handle_admin(backend: FakeBackend, request: FakeRequest) -> FakeResponse:
    """Answer a request under ``/_fake/``."""
    path = request.path.rstrip("/")
    method = request.method.upper()
    try:
        matched = [(m, r, match) for m, p, r in ADMIN_ROUTES if (match := p.fullmatch(path))]
        for route_method, respond, match in matched:
            if route_method == method:
                return respond(backend, request, match.groupdict())
        if matched:
            raise HttpError(405, "Method Not Allowed")
        raise HttpError(404, "Not Found")
    except HttpError as error:
        return error_response(error)

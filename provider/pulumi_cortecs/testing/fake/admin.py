"""Admin endpoints under ``/_fake/``: drive a fake that runs in another process.

They are never faulted and never recorded in ``calls``, so a test can inspect and steer the
fake without disturbing what it asserts about the client.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_cortecs.testing.fake.backend import FakeBackend
from pulumi_cortecs.testing.fake.wire import (
    FakeRequest,
    FakeResponse,
    HttpError,
    error_response,
    json_response,
)

ADMIN_PREFIX = "/_fake/"
_INSTANCE_PATH = re.compile(r"^/_fake/instances/(?P<instance_id>[^/]+)(?P<stop>/stop)?$")


def _apply_fault(backend: FakeBackend, name: str, value: Any) -> None:
    faults = backend.faults
    if name in ("latency", "slow_seconds"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a non-negative number of seconds")
        setattr(faults, name, float(value))
        return
    if not isinstance(value, dict):
        raise ValueError(f"{name} takes an object of keyword arguments")
    if name == "fail_next":
        faults.fail_next(**value)
    elif name == "drop_next":
        faults.drop_next(**value)
    elif name == "lose_next_start_response":
        faults.lose_next_start_response(**value)
    elif name == "random":
        faults.set_random(**value)
    elif name == "clear":
        faults.clear(**value)
    else:
        raise ValueError(
            f"unknown fault {name!r}; known: fail_next, drop_next, "
            "lose_next_start_response, latency, slow_seconds, random, clear"
        )


def _faults(backend: FakeBackend, request: FakeRequest) -> FakeResponse:
    for name, value in request.json_object().items():
        try:
            _apply_fault(backend, name, value)
        except (TypeError, ValueError) as error:
            raise HttpError(400, f"{name}: {error}") from None
    return json_response(200, {"faults_injected": backend.faults.counts()})


def _instance(backend: FakeBackend, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
    instance_id = match["instance_id"]
    if (request.method.upper(), bool(match["stop"])) not in (("POST", True), ("DELETE", False)):
        raise HttpError(405, "Method Not Allowed")
    action = backend.stop_instance if match["stop"] else backend.delete_instance
    try:
        action(instance_id)
    except KeyError:
        raise HttpError(404, f"instance {instance_id} not found") from None
    return json_response(200, {"instance_id": instance_id})


def _config(backend: FakeBackend, request: FakeRequest) -> FakeResponse:
    try:
        backend.configure(**request.json_object())
    except ValueError as error:
        raise HttpError(400, str(error)) from None
    return json_response(200, {})


def handle_admin(backend: FakeBackend, request: FakeRequest) -> FakeResponse:
    """Answer a request under ``/_fake/``."""
    path = request.path.rstrip("/")
    method = request.method.upper()
    try:
        if (method, path) == ("GET", "/_fake/state"):
            return json_response(200, backend.snapshot())
        if (method, path) == ("POST", "/_fake/faults"):
            return _faults(backend, request)
        if (method, path) == ("POST", "/_fake/expire-tokens"):
            backend.expire_tokens()
            return json_response(200, {})
        if (method, path) == ("POST", "/_fake/config"):
            return _config(backend, request)
        if (method, path) == ("POST", "/_fake/reset"):
            backend.reset()
            return json_response(200, {})
        match = _INSTANCE_PATH.match(path)
        if match:
            return _instance(backend, request, match)
        raise HttpError(404, "Not Found")
    except HttpError as error:
        return error_response(error)

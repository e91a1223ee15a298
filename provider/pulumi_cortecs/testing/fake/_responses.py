"""The responses layer: parse a request, call the backend's rule, render the API's answer.

One function per endpoint, each ``(backend, request, path_params) -> FakeResponse``; the route
table (:mod:`~pulumi_cortecs.testing.fake._routes`) says which answers what. Requests are read
here (JSON types, query flags) so the backend gets typed arguments; the backend's refusals
(:mod:`~pulumi_cortecs.testing.fake._exceptions`) become statuses in :func:`error_answer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_cortecs.testing.fake import _shapes
from pulumi_cortecs.testing.fake._backend import FakeBackend
from pulumi_cortecs.testing.fake._exceptions import (
    BadCredentials,
    BadToken,
    FakeApiError,
    InvalidRequest,
    InvalidState,
    NotFound,
)
from pulumi_cortecs.testing.fake._instances import FakeInstance
from pulumi_cortecs.testing.fake._wire import (
    FakeRequest,
    FakeResponse,
    HttpError,
    error_response,
    json_response,
)

Handler = Callable[[FakeBackend, FakeRequest, Mapping[str, str]], FakeResponse]

# The status the real API answers each refusal with (a subclass answers as its base).
_STATUSES: dict[type[FakeApiError], int] = {
    InvalidRequest: 400,
    InvalidState: 400,
    NotFound: 404,
    BadCredentials: 401,
    BadToken: 401,
}


def error_answer(error: FakeApiError) -> FakeResponse:
    """The API's answer to a refusal: its status and ``{"detail": message}``."""
    status = next(_STATUSES[cls] for cls in type(error).__mro__ if cls in _STATUSES)
    # A refused token invites the client to authenticate, as RFC 6750 asks.
    headers = {"www-authenticate": "Bearer"} if isinstance(error, BadToken) else {}
    return error_response(HttpError(status, error.message, headers))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional(body: Mapping[str, Any], name: str, kind: type, what: str) -> Any:
    """``body[name]`` if it is a ``kind``; ``None`` when absent or JSON null (the default)."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and not _is_int(value)):
        raise InvalidRequest(f"{name} must be {what}")
    return value


def _instance_payload(backend: FakeBackend, request: FakeRequest, instance: FakeInstance) -> Any:
    return _shapes.instance(
        instance, backend.clock(), request.url_origin, backend.api_era, backend.response_shape
    )


def _instance_reply(
    backend: FakeBackend, request: FakeRequest, instance: FakeInstance, message: str
) -> FakeResponse:
    payload = _instance_payload(backend, request, instance)
    return json_response(200, {"message": message, "instance": payload})


def _instance_id_in(request: FakeRequest) -> str:
    instance_id = request.json_object().get("instance_id")
    if not isinstance(instance_id, str) or not instance_id:
        raise InvalidRequest("instance_id is required and must be a string")
    return instance_id


# -- authentication ------------------------------------------------------------------------


def token(backend: FakeBackend, request: FakeRequest, _: Mapping[str, str]) -> FakeResponse:
    body = request.form_or_json()
    client_id, secret = body.get("client_id"), body.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(secret, str):
        raise InvalidRequest("client_id and client_secret are required strings")
    if body.get("grant_type", "client_credentials") != "client_credentials":
        raise InvalidRequest("grant_type must be client_credentials")
    issued = backend.issue_token(client_id, secret)
    return json_response(
        200, {"access_token": issued, "token_type": "Bearer", "expires_in": int(backend.token_ttl)}
    )


# -- catalog -------------------------------------------------------------------------------


def list_models(backend: FakeBackend, _: FakeRequest, __: Mapping[str, str]) -> FakeResponse:
    previews = [_shapes.model_preview(m, backend.api_era) for m in backend.models()]
    return json_response(200, {"models": previews})


def get_model(backend: FakeBackend, _: FakeRequest, params: Mapping[str, str]) -> FakeResponse:
    model = backend.model(params["model_id"])
    return json_response(200, {"model": _shapes.model_detail(model, backend.api_era)})


def hardware_types(backend: FakeBackend, _: FakeRequest, __: Mapping[str, str]) -> FakeResponse:
    return json_response(200, {"hardware_types": backend.hardware_types()})


def available_hardware_types(
    backend: FakeBackend, _: FakeRequest, __: Mapping[str, str]
) -> FakeResponse:
    return json_response(200, {"hardware_types": backend.hardware_types(available_only=True)})


# -- instances -----------------------------------------------------------------------------


def start(backend: FakeBackend, request: FakeRequest, _: Mapping[str, str]) -> FakeResponse:
    # A JSON null counts as "not given", and keys the API does not know are ignored.
    body = request.json_object()
    model_id = body.get("model_id")
    if not isinstance(model_id, str) or not model_id:
        raise InvalidRequest("model_id is required and must be a string")
    instance = backend.start(
        model_id=model_id,
        hardware_type_id=_optional(body, "hardware_type_id", str, "a string"),
        context_length=_optional(body, "context_length", int, "a positive integer"),
        billing_interval=_optional(body, "billing_interval", str, "per_minute or per_hour"),
        num_workers=_optional(body, "num_workers", int, "an integer from 1 to 8"),
    )
    return _instance_reply(backend, request, instance, "Instance is starting.")


def list_instances(
    backend: FakeBackend, request: FakeRequest, _: Mapping[str, str]
) -> FakeResponse:
    listed = [_instance_payload(backend, request, i) for i in backend.list_instances()]
    return json_response(200, {"instances": listed})


def get_instance(
    backend: FakeBackend, request: FakeRequest, params: Mapping[str, str]
) -> FakeResponse:
    instance = backend.get_instance(params["instance_id"])
    return json_response(200, {"instance": _instance_payload(backend, request, instance)})


def stop(backend: FakeBackend, request: FakeRequest, _: Mapping[str, str]) -> FakeResponse:
    instance, changed = backend.stop(_instance_id_in(request))
    message = "Instance stopped." if changed else "Instance is already stopped."
    return _instance_reply(backend, request, instance, message)


def restart(backend: FakeBackend, request: FakeRequest, _: Mapping[str, str]) -> FakeResponse:
    instance = backend.restart(_instance_id_in(request))
    return _instance_reply(backend, request, instance, "Instance is restarting.")


def delete(backend: FakeBackend, _: FakeRequest, params: Mapping[str, str]) -> FakeResponse:
    backend.delete(params["instance_id"])
    return json_response(200, {"instance_id": params["instance_id"]})


def stop_all(backend: FakeBackend, _: FakeRequest, __: Mapping[str, str]) -> FakeResponse:
    # The body, if any, is not read: cortecs-py sends none at all.
    stopped = backend.stop_all()
    if backend.api_era == "today":
        return json_response(
            200, {"message": "All instances stopped successfully.", "instance_ids": stopped}
        )
    return json_response(200, {"instance_ids": stopped})


def delete_all(backend: FakeBackend, request: FakeRequest, _: Mapping[str, str]) -> FakeResponse:
    # Python clients send the flag as str(bool): "False" or "True".
    force = request.query.get("force_deletion", "false").lower()
    if force not in ("true", "false"):
        raise InvalidRequest("force_deletion must be true or false")
    return json_response(200, {"instance_ids": backend.delete_all(force=force == "true")})

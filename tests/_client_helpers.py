"""Shared pieces for the client tests: API payloads and the credentials they use."""

from __future__ import annotations

from typing import Any

import httpx
import respx

from tests import LLAMA_ID

SECRET = "canary-secret-9f8e7d"
# The catalog's detail of LLAMA_ID, from which a client resolves the API's defaults to start it.
MODEL_DETAIL = {
    "model": {
        "model_id": LLAMA_ID,
        "recommended_config": "NVIDIA_L4_1",
        "hardware_configs": {"NVIDIA_L4_1": {"params": {"max_context_length": 16000}}},
    }
}


def mock_model_detail(router: respx.MockRouter) -> respx.Route:
    return router.get(f"/models/{LLAMA_ID}").mock(
        return_value=httpx.Response(200, json=MODEL_DETAIL)
    )


def token_response(token: str = "tok-1", expires_in: int = 3600) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": token, "token_type": "Bearer", "expires_in": expires_in}
    )


def instance_json(
    instance_id: str = "instance-1",
    *,
    status: str = "pending",
    step: int | None = 1,
    shape: str = "newer",
    model_id: str = LLAMA_ID,
    **args: Any,
) -> dict[str, Any]:
    progress = (
        None
        if step is None
        else {"current_step": step, "num_steps": 5, "description": f"Step {step}"}
    )
    body: dict[str, Any] = {
        "instance_id": instance_id,
        "base_url": "https://abcd.eu/v1" if status == "running" else None,
        "instance_args": {"model_id": model_id, "hardware_type_id": "NVIDIA_L4_1", **args},
        "instance_status": {"status": status, "started_at": None, "stopped_at": None},
        "worker_statuses": [],
    }
    if shape == "older":
        body["instance_status"]["init_progress"] = progress
    else:
        body["worker_statuses"] = [{"init_progress": progress}]
    return body

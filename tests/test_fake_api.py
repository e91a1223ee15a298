"""The fake's catalog and authentication endpoints, in-process through ``mock_api``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pulumi_cortecs.api._models import HardwareType, ModelPreview
from pulumi_cortecs.testing.fake import FakeBackend, ManualClock, mock_api

from tests import BASE

CREDENTIALS = {
    "client_id": "demo-client-id",
    "client_secret": "demo-client-secret",
    "grant_type": "client_credentials",
}


@pytest.fixture
def backend(cortecs_clock: ManualClock) -> Iterator[FakeBackend]:
    with mock_api(clock=cortecs_clock, token_ttl=60) as fake:
        yield fake


@pytest.fixture
def http(backend: FakeBackend) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=BASE) as client:
        yield client


@pytest.mark.parametrize("era", ["today", "seed"])
def test_models_list_and_detail_parse(http: httpx.Client, backend: FakeBackend, era: str) -> None:
    backend.configure(api_era=era)
    models = [ModelPreview.model_validate(m) for m in http.get("/models/").json()["models"]]
    assert {m.model_id for m in models} >= {
        "meta-llama--Meta-Llama-3.1-8B-Instruct",
        "Qwen--Qwen2.5-72B-Instruct",
    }
    assert any(m.instant_provisioned for m in models)
    assert all(m.hardware_configs and m.hf_name for m in models)
    assert http.get("/models").status_code == 200  # without the trailing slash too

    detail = http.get("/models/meta-llama--Meta-Llama-3.1-8B-Instruct").json()["model"]
    key = "--max-model-len" if era == "today" else "max_context_length"
    assert detail["hardware_configs"]["NVIDIA_L4_1"] == {"params": {key: 16000}}
    model = ModelPreview.model_validate(detail)
    assert model.recommended_config == "NVIDIA_L4_1"
    assert model.hf_name == "meta-llama/Meta-Llama-3.1-8B-Instruct"
    assert model.max_context_lengths == {
        "NVIDIA_L4_1": 16000,
        "NVIDIA_L40S_1": 32000,
        "NVIDIA_H100_1": 128000,
    }


def test_todays_model_entries_carry_every_key_and_whole_sizes(http: httpx.Client) -> None:
    phi = next(m for m in http.get("/models/").json()["models"] if "Phi" in m["model_id"])
    assert phi == {
        "model_id": "microsoft--Phi-3.5-mini-instruct",
        "model_name": "microsoft--Phi-3.5-mini-instruct",
        "hf_name": "microsoft/Phi-3.5-mini-instruct",
        "screen_name": "Phi-3.5 mini",
        "description": "A small model that is kept warm, so it is provisioned instantly.",
        "creator": {"name": "Microsoft"},
        "size": 4,
        "instant_provisioned": True,
        "hardware_info": {
            "hardware_configs": ["NVIDIA_L4_1", "NVIDIA_L40S_1"],
            "recommended_config": "NVIDIA_L4_1",
        },
    }


def test_the_seeds_model_entries_list_hardware_at_the_top(
    http: httpx.Client, backend: FakeBackend
) -> None:
    backend.configure(api_era="seed")
    phi = next(m for m in http.get("/models/").json()["models"] if "Phi" in m["model_id"])
    assert phi["size"] == 3.8 and "model_name" not in phi and "hardware_info" not in phi
    assert phi["hardware_configs"] == ["NVIDIA_L4_1", "NVIDIA_L40S_1"]


def test_unknown_model_is_404_with_detail(http: httpx.Client) -> None:
    response = http.get("/models/nobody--nothing")
    assert response.status_code == 404
    assert "nobody--nothing" in response.json()["detail"]


def test_hardware_types_and_available_subset(http: httpx.Client) -> None:
    everything = http.get("/hardware-types/").json()["hardware_types"]
    available = http.get("/hardware-types/available").json()["hardware_types"]
    parsed = [HardwareType.model_validate(h) for h in everything]
    l4 = next(h for h in parsed if h.hardware_type_id == "NVIDIA_L4_1")
    assert l4.price_info.currency == "EUR"
    assert l4.price_info.price_per_minute == round(l4.price_info.price_per_hour / 60, 4)
    assert l4.hardware_info["gpu_count"] == 1
    available_ids = {h["hardware_type_id"] for h in available}
    assert available_ids < {h.hardware_type_id for h in parsed}


def test_token_json_and_form(http: httpx.Client, backend: FakeBackend) -> None:
    token = http.post("/oauth2/token", json=CREDENTIALS).json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 60
    assert http.post("/oauth2/token", data=CREDENTIALS).status_code == 200
    assert backend.token_fetches == 2


@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [
        ({"json": {**CREDENTIALS, "client_secret": "wrong"}}, 401),
        ({"json": {**CREDENTIALS, "client_id": "someone"}}, 401),
        ({"json": {"client_id": "demo-client-id"}}, 400),
        ({"json": {**CREDENTIALS, "grant_type": "password"}}, 400),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ({"json": ["a", "list"]}, 400),
    ],
)
def test_token_refusals(http: httpx.Client, request_kwargs: dict[str, object], status: int) -> None:
    response = http.post("/oauth2/token", **request_kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    assert "wrong" not in response.text and "demo-client-secret" not in response.text
    if status == 401:
        assert response.json() == {"detail": "invalid client credentials"}


def _bearer(http: httpx.Client) -> dict[str, str]:
    token = http.post("/oauth2/token", json=CREDENTIALS).json()["access_token"]
    return {"authorization": f"Bearer {token}"}


def test_instances_need_a_valid_unexpired_token(
    http: httpx.Client, backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    assert http.get("/instances/").status_code == 401
    assert http.get("/instances/", headers={"authorization": "Bearer nope"}).status_code == 401
    headers = _bearer(http)
    assert http.get("/instances/", headers=headers).status_code == 200
    cortecs_clock.advance(59)
    assert http.get("/instances/", headers=headers).status_code == 200
    cortecs_clock.advance(1)
    expired = http.get("/instances/", headers=headers)
    assert expired.status_code == 401
    assert headers["authorization"].split()[1] not in expired.text

    headers = _bearer(http)
    backend.expire_tokens()
    assert http.get("/instances/", headers=headers).status_code == 401


def test_unknown_route_and_wrong_method(http: httpx.Client) -> None:
    assert http.get("/nothing-here").status_code == 404
    assert http.delete("/models/").status_code == 405
    assert http.get("https://cortecs.ai/elsewhere").status_code == 404


def test_calls_record_method_and_path(http: httpx.Client, backend: FakeBackend) -> None:
    http.get("/models/")
    http.get("/hardware-types/available", params={"x": "1"})
    assert backend.calls == [
        ("GET", "/api/v1/models"),
        ("GET", "/api/v1/hardware-types/available"),
    ]


def test_mock_api_as_decorator_passes_a_fresh_backend() -> None:
    seen: list[FakeBackend] = []

    @mock_api(step_seconds=2.0)
    def probe(backend: FakeBackend) -> int:
        seen.append(backend)
        return httpx.get(f"{BASE}/models").status_code

    assert probe() == 200
    assert probe() == 200
    assert seen[0] is not seen[1]
    assert seen[0].step_seconds == 2.0
    assert seen[0].calls == [("GET", "/api/v1/models")]


def test_mock_api_custom_origin_and_argument_checks() -> None:
    with mock_api(base_url="http://fake.test:8080/api/v1/"):
        assert httpx.get("http://fake.test:8080/api/v1/models").status_code == 200
    with pytest.raises(ValueError, match="/api/v1"):
        mock_api(base_url="https://cortecs.ai/v2")
    with pytest.raises(TypeError):
        mock_api(FakeBackend(), step_seconds=1.0)

"""The client against precise HTTP answers (respx): endpoints, auth, errors and retries."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Iterator

import httpx
import pytest
import respx
from pulumi_cortecs import Client
from pulumi_cortecs._exceptions import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    InvalidRequestError,
    MissingCredentialsError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from pulumi_cortecs.api import RetryEvent
from pulumi_cortecs.api._models import InstanceArgs
from pulumi_cortecs.testing import DEMO_CLIENT_ID, ManualClock

from tests import BASE, LLAMA_ID
from tests._client_helpers import (
    SECRET,
    instance_json,
    mock_model_detail,
    token_response,
)

HARDWARE = {
    "hardware_type_id": "NVIDIA_L4_1",
    "price_info": {"price_per_hour": 1.2, "price_per_minute": 0.02, "currency": "EUR"},
    "hardware_info": {"gpu": "L4", "gpu_count": 1},
}
PREVIEW = {
    "model_id": LLAMA_ID,
    "hf_name": "meta-llama/Meta-Llama-3.1-8B-Instruct",
    "screen_name": "Llama 3.1 8B",
    "creator": {"name": "Meta"},
    "size": 8,
    "instant_provisioned": True,
    "hardware_configs": ["NVIDIA_L4_1"],
}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/oauth2/token", name="token").mock(return_value=token_response())
        mock_model_detail(router)
        yield router


@pytest.fixture
def cortecs_credentials() -> tuple[str, str]:
    """``client`` (the plugin's ``cortecs_client``) signs in with a canary secret."""
    return DEMO_CLIENT_ID, SECRET


# Configuration


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTECS_CLIENT_ID", "env-id")
    monkeypatch.setenv("CORTECS_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("CORTECS_API_BASE_URL", "http://localhost:9000/api/v1/")
    with respx.mock(base_url="http://localhost:9000/api/v1") as router:
        token = router.post("/oauth2/token").mock(return_value=token_response())
        router.get("/instances/").mock(return_value=httpx.Response(200, json={"instances": []}))
        with Client() as client:
            assert client.api_base_url == "http://localhost:9000/api/v1"
            assert client.list_instances() == []
    assert token.calls.last.request.read() == (
        b'{"client_id":"env-id","client_secret":"' + SECRET.encode() + b'",'
        b'"grant_type":"client_credentials"}'
    )


def test_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORTECS_API_BASE_URL", raising=False)
    assert Client().api_base_url == BASE


def test_missing_credentials_only_when_a_token_is_needed(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORTECS_CLIENT_ID", raising=False)
    monkeypatch.delenv("CORTECS_CLIENT_SECRET", raising=False)
    api.get("/models/").mock(return_value=httpx.Response(200, json={"models": [PREVIEW]}))
    client = Client()
    assert len(client.list_models()) == 1  # the catalog is public
    with pytest.raises(MissingCredentialsError) as caught:
        client.list_instances()
    assert "CORTECS_CLIENT_ID" in str(caught.value)
    assert "CORTECS_CLIENT_SECRET" in str(caught.value)
    assert not api["token"].called


# Endpoints


def test_catalog(api: respx.MockRouter, client: Client) -> None:
    api.get("/models/").mock(return_value=httpx.Response(200, json={"models": [PREVIEW]}))
    detail = {
        **PREVIEW,
        "recommended_config": "NVIDIA_L4_1",
        "hardware_configs": {"NVIDIA_L4_1": {"params": {"max_context_length": 16000}}},
    }
    model_route = api.get(f"/models/{LLAMA_ID}").mock(
        return_value=httpx.Response(200, json={"model": detail})
    )
    api.get("/hardware-types/").mock(
        return_value=httpx.Response(200, json={"hardware_types": [HARDWARE, HARDWARE]})
    )
    api.get("/hardware-types/available").mock(
        return_value=httpx.Response(200, json={"hardware_types": [HARDWARE]})
    )

    [preview] = client.list_models()
    assert preview.model_id == LLAMA_ID and preview.creator and preview.creator.name == "Meta"
    model = client.get_model("meta-llama/Meta-Llama-3.1-8B-Instruct")
    assert model.max_context_lengths == {"NVIDIA_L4_1": 16000}
    assert model.recommended_config == "NVIDIA_L4_1"
    assert len(client.list_hardware_types()) == 2
    [hardware] = client.list_hardware_types(available_only=True)
    assert hardware.price_info.currency == "EUR"
    assert "authorization" not in model_route.calls.last.request.headers
    assert not api["token"].called


@pytest.mark.parametrize("shape", ["newer", "older"])
def test_instance_endpoints(api: respx.MockRouter, client: Client, shape: str) -> None:
    pending = instance_json(step=3, shape=shape)
    stopped = instance_json(status="stopped", step=None, shape=shape)
    api.get("/instances/").mock(return_value=httpx.Response(200, json={"instances": [pending]}))
    api.get("/instances/instance-1").mock(
        return_value=httpx.Response(200, json={"instance": pending})
    )
    start = api.post("/instances/start").mock(
        return_value=httpx.Response(
            200, json={"message": "Instance is starting.", "instance": pending}
        )
    )
    stop = api.post("/instances/stop").mock(
        return_value=httpx.Response(200, json={"message": "Stopped.", "instance": stopped})
    )
    restart = api.post("/instances/restart").mock(
        return_value=httpx.Response(200, json={"message": "Restarted.", "instance": pending})
    )
    api.delete("/instances/instance-1").mock(
        return_value=httpx.Response(200, json={"instance_id": "instance-1"})
    )

    [listed] = client.list_instances()
    progress = listed.instance_status.init_progress
    assert progress and (progress.current_step, progress.num_steps) == (3, 5)
    assert client.get_instance("instance-1") == listed
    started = client.start(
        InstanceArgs(model_id="meta-llama/Meta-Llama-3.1-8B-Instruct", num_workers=2)
    )
    assert started.status == "pending"
    assert start.calls.last.request.read() == (
        b'{"model_id":"' + LLAMA_ID.encode() + b'","num_workers":2}'
    )
    assert client.stop("instance-1").status == "stopped"
    assert stop.calls.last.request.read() == b'{"instance_id":"instance-1"}'
    assert client.restart("instance-1").status == "pending"
    assert restart.calls.last.request.read() == b'{"instance_id":"instance-1"}'
    assert client.delete("instance-1") == "instance-1"
    for call in api.calls:
        if call.request.url.path.startswith("/api/v1/instances"):
            assert call.request.headers["authorization"] == "Bearer tok-1"


# Tokens


def test_token_is_cached_and_refreshed_before_expiry(
    api: respx.MockRouter, client: Client, cortecs_clock: ManualClock
) -> None:
    api["token"].side_effect = [token_response("tok-1", 600), token_response("tok-2", 600)]
    route = api.get("/instances/").mock(return_value=httpx.Response(200, json={"instances": []}))
    client.list_instances()
    cortecs_clock.advance(500)  # inside the lifetime, outside nothing
    client.list_instances()
    assert api["token"].call_count == 1
    cortecs_clock.advance(50)  # within the last tenth of the lifetime: renewed early
    client.list_instances()
    assert api["token"].call_count == 2
    assert route.calls.last.request.headers["authorization"] == "Bearer tok-2"


def test_401_refreshes_the_token_once(api: respx.MockRouter, client: Client) -> None:
    api["token"].side_effect = [token_response("tok-1"), token_response("tok-2")]
    route = api.get("/instances/").mock(
        side_effect=[
            httpx.Response(401, json={"detail": "Token expired"}),
            httpx.Response(200, json={"instances": []}),
        ]
    )
    assert client.list_instances() == []
    assert [c.request.headers["authorization"] for c in route.calls] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]


def test_a_token_never_accepted_is_an_authentication_error(
    api: respx.MockRouter, client: Client
) -> None:
    # Renewing covers tokens that expire mid-operation, again and again; not forever.
    api["token"].side_effect = [token_response(f"tok-{n}") for n in range(1, 6)]
    api.get("/instances/").mock(return_value=httpx.Response(401, json={"detail": "Nope"}))
    with pytest.raises(AuthenticationError, match=r"GET /instances/ failed with HTTP 401: Nope"):
        client.list_instances()
    assert api["token"].call_count == 5  # the first token and max_attempts - 1 renewals


def test_refused_credentials(api: respx.MockRouter, client: Client) -> None:
    api["token"].mock(return_value=httpx.Response(401, json={"detail": "invalid client"}))
    with pytest.raises(AuthenticationError) as caught:
        client.list_instances()
    message = str(caught.value)
    assert "POST /oauth2/token failed with HTTP 401: invalid client" in message
    assert "client id/secret were refused" in message
    assert caught.value.status_code == 401
    assert api["token"].call_count == 1  # not retried


def test_sixteen_threads_share_one_token_fetch(api: respx.MockRouter, client: Client) -> None:
    def slow_token(request: httpx.Request) -> httpx.Response:
        time.sleep(0.05)  # real time: the other threads pile up behind the lock meanwhile
        return token_response()

    api["token"].side_effect = slow_token
    api.get("/instances/").mock(return_value=httpx.Response(200, json={"instances": []}))
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            client.list_instances()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert api["token"].call_count == 1


# Errors


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, InvalidRequestError),
        (422, InvalidRequestError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (409, ApiError),
    ],
)
def test_client_errors_are_typed_and_not_retried(
    api: respx.MockRouter,
    client: Client,
    cortecs_clock: ManualClock,
    status: int,
    error_type: type[ApiError],
) -> None:
    route = api.get("/instances/instance-9").mock(
        return_value=httpx.Response(status, json={"detail": "Instance instance-9 not found"})
    )
    with pytest.raises(error_type) as caught:
        client.get_instance("instance-9")
    error = caught.value
    assert str(error) == (
        f"GET /instances/instance-9 failed with HTTP {status}: Instance instance-9 not found"
    )
    assert (error.method, error.path, error.status_code) == ("GET", "/instances/instance-9", status)
    assert error.server_message == "Instance instance-9 not found"
    assert route.call_count == 1 and cortecs_clock.sleeps == []


def test_fastapi_validation_detail_is_readable(api: respx.MockRouter, client: Client) -> None:
    detail = [
        {"loc": ["body", "context_length"], "msg": "must be at most 16000", "type": "value_error"},
        {"loc": ["body", "billing_interval"], "msg": "unknown interval", "type": "value_error"},
    ]
    api.post("/instances/start").mock(return_value=httpx.Response(422, json={"detail": detail}))
    api.get("/instances/").mock(return_value=httpx.Response(200, json={"instances": []}))
    with pytest.raises(InvalidRequestError) as caught:
        client.start(InstanceArgs(model_id=LLAMA_ID, context_length=99999))
    assert caught.value.server_message == (
        "context_length: must be at most 16000; billing_interval: unknown interval"
    )


def test_message_key_and_plain_text_bodies(api: respx.MockRouter, client: Client) -> None:
    api.delete("/instances/instance-1").mock(
        return_value=httpx.Response(400, json={"message": "Only a stopped instance can be deleted"})
    )
    api.get("/models/x").mock(return_value=httpx.Response(404, text="no such model\n"))
    with pytest.raises(InvalidRequestError, match="Only a stopped instance can be deleted"):
        client.delete("instance-1")
    with pytest.raises(NotFoundError, match=r"GET /models/x failed with HTTP 404: no such model$"):
        client.get_model("x")


def test_secrets_never_appear_in_errors_or_reprs(api: respx.MockRouter, client: Client) -> None:
    api["token"].mock(return_value=token_response("tok-canary-123"))
    api.get("/instances/").mock(
        return_value=httpx.Response(
            400, json={"detail": f"bad token tok-canary-123 for secret {SECRET}"}
        )
    )
    with pytest.raises(InvalidRequestError) as caught:
        client.list_instances()
    error = caught.value
    texts = [
        str(error),
        repr(error),
        str(error.server_message),
        repr(client),
        "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format()),
    ]
    for text in texts:
        assert SECRET not in text
        assert "tok-canary-123" not in text
    assert error.server_message == "bad token *** for secret ***"


def test_refused_credentials_message_hides_the_secret(
    api: respx.MockRouter, client: Client
) -> None:
    api["token"].mock(return_value=httpx.Response(401, json={"detail": f"unknown secret {SECRET}"}))
    with pytest.raises(AuthenticationError) as caught:
        client.list_instances()
    assert SECRET not in str(caught.value) and "unknown secret ***" in str(caught.value)


# Retries


def test_retry_after_is_honoured(
    api: respx.MockRouter, client: Client, cortecs_clock: ManualClock
) -> None:
    route = api.get("/instances/").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}, json={"detail": "Slow down"}),
            httpx.Response(503, json={"detail": "Busy"}),
            httpx.Response(200, json={"instances": []}),
        ]
    )
    assert client.list_instances() == []
    assert route.call_count == 3
    assert cortecs_clock.sleeps[0] == 2.0
    assert 1.0 <= cortecs_clock.sleeps[1] <= 1.1  # the second backoff step, plus at most 10% jitter


def test_retry_event_hooks_hear_of_each_retry(
    api: respx.MockRouter, cortecs_clock: ManualClock
) -> None:
    api.get("/models/").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}, json={"detail": "Slow down"}),
            httpx.Response(200, json={"models": []}),
        ]
    )
    given: list[RetryEvent] = []
    added: list[RetryEvent] = []
    with Client(
        DEMO_CLIENT_ID,
        SECRET,
        max_attempts=3,
        sleep=cortecs_clock.sleep,
        clock=cortecs_clock,
        event_hooks={"retry": [given.append]},
    ) as client:
        client.event_hooks["retry"].append(added.append)
        assert client.list_models() == []
    assert (
        given
        == added
        == [
            RetryEvent(
                method="GET",
                path="/models/",
                attempt=1,
                max_attempts=3,
                reason="GET /models/ failed with HTTP 429: Slow down",
                delay=2.0,
            )
        ]
    )


def test_an_unknown_event_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event 'request'; events are retry"):
        Client(DEMO_CLIENT_ID, SECRET, event_hooks={"request": []})


def test_a_short_retry_after_does_not_shorten_the_backoff(
    api: respx.MockRouter, client: Client, cortecs_clock: ManualClock
) -> None:
    """A rate-limited account that says "again in 0.1 s" gets the same patience as a 503: a
    call does not spend its tries within a second."""
    limited = httpx.Response(429, headers={"Retry-After": "0.1"}, json={"detail": "Slow down"})
    api.get("/instances/").mock(
        side_effect=[limited, limited, limited, httpx.Response(200, json={"instances": []})]
    )
    assert client.list_instances() == []
    backoffs = [0.5, 1.0, 2.0]  # each up to a tenth more (jitter)
    slept = cortecs_clock.sleeps
    assert len(slept) == 3
    assert all(b <= s <= b * 1.1 for b, s in zip(backoffs, slept, strict=True)), slept


def test_retry_after_is_capped(api: respx.MockRouter, cortecs_clock: ManualClock) -> None:
    api.get("/models/").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3600"}),
            httpx.Response(200, json={"models": []}),
        ]
    )
    with Client(
        DEMO_CLIENT_ID,
        SECRET,
        max_backoff=7.0,
        sleep=cortecs_clock.sleep,
        clock=cortecs_clock,
    ) as client:
        assert client.list_models() == []
    assert cortecs_clock.sleeps == [7.0]


def test_backoff_grows_and_is_capped_then_gives_up(
    api: respx.MockRouter, cortecs_clock: ManualClock
) -> None:
    route = api.get("/models/").mock(
        return_value=httpx.Response(502, json={"detail": "Bad gateway"})
    )
    with (
        Client(
            DEMO_CLIENT_ID,
            SECRET,
            max_attempts=6,
            max_backoff=3.0,
            sleep=cortecs_clock.sleep,
            clock=cortecs_clock,
        ) as client,
        pytest.raises(ServerError, match=r"GET /models/ failed with HTTP 502: Bad gateway"),
    ):
        client.list_models()
    assert route.call_count == 6
    assert cortecs_clock.sleeps == pytest.approx([0.5, 1.0, 2.0, 3.0, 3.0], rel=0.1)
    assert max(cortecs_clock.sleeps) <= 3.0


def test_rate_limit_error_after_the_retries(api: respx.MockRouter, client: Client) -> None:
    api.get("/models/").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "1"}, json={"detail": "Slow"})
    )
    with pytest.raises(RateLimitError) as caught:
        client.list_models()
    assert caught.value.retry_after == 1.0
    assert api.calls.call_count == 5


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
    ],
)
def test_transport_failures_are_retried(
    api: respx.MockRouter, client: Client, failure: httpx.TransportError
) -> None:
    route = api.post("/instances/stop").mock(
        side_effect=[
            failure,
            httpx.Response(200, json={"instance": instance_json(status="stopped", step=None)}),
        ]
    )
    assert client.stop("instance-1").status == "stopped"
    assert route.call_count == 2


def test_connection_error_after_the_retries(
    api: respx.MockRouter, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    api.get("/models/").mock(side_effect=httpx.ConnectError("connection refused"))
    with (
        caplog.at_level(logging.INFO, logger="pulumi_cortecs.api"),
        pytest.raises(ApiConnectionError) as caught,
    ):
        client.list_models()
    assert str(caught.value).startswith(f"GET /models/ failed: the API at {BASE} could not be")
    assert "ConnectError: connection refused" in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len([r for r in caplog.records if "retrying in" in r.getMessage()]) == 4


def test_token_failures_keep_the_secret_out_of_tracebacks(
    api: respx.MockRouter, client: Client
) -> None:
    api["token"].mock(return_value=httpx.Response(503, json={"detail": "Down"}))
    with pytest.raises(ServerError) as caught:
        client.list_instances()
    assert str(caught.value) == "POST /oauth2/token failed with HTTP 503: Down"
    formatted = traceback.TracebackException.from_exception(caught.value, capture_locals=True)
    assert SECRET not in "".join(formatted.format())
    assert api["token"].call_count == 5

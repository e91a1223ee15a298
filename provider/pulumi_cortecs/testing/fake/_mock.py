"""The in-process transport: respx routes httpx requests for the fake's origin to a backend.

Like ``moto.mock_aws`` it works as a context manager (yielding the backend) and as a
decorator. A dropped response surfaces as the error httpx raises for a real one. This is the
only module of the fake that imports respx (the ``testing`` extra), so the rest of the fake,
and ``python -m pulumi_cortecs.testing.fake``, run from a plain install.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

try:
    import respx
except ModuleNotFoundError as missing:  # a plain install: say which extra brings it
    raise ModuleNotFoundError(
        "pulumi_cortecs.testing.mock_api (and the cortecs_mock fixture) needs respx: install "
        "the package with its `testing` extra (README, Installation), or `pip install respx`",
        name=missing.name,
    ) from missing

from pulumi_cortecs._urls import DEFAULT_API_BASE_URL
from pulumi_cortecs.testing.fake._backend import FakeBackend
from pulumi_cortecs.testing.fake._constants import API_PREFIX
from pulumi_cortecs.testing.fake._routes import handle
from pulumi_cortecs.testing.fake._wire import FakeRequest, FakeResponse

F = TypeVar("F", bound=Callable[..., Any])

# A decorated function with a parameter of this name receives the backend.
BACKEND_PARAMETER = "backend"


def to_fake_request(request: httpx.Request) -> FakeRequest:
    url = request.url
    return FakeRequest(
        method=request.method,
        url_origin=f"{url.scheme}://{url.netloc.decode('ascii')}",
        path=url.path,
        query=dict(url.params),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=request.read(),
    )


def to_httpx_response(request: httpx.Request, response: FakeResponse) -> httpx.Response:
    if response.drop and response.processed:
        # The server acted, then the connection broke: what httpx says for a real one.
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    if response.drop:
        raise httpx.ConnectError("[Errno 111] Connection refused (injected)", request=request)
    return httpx.Response(response.status, headers=response.headers, content=response.body)


class mock_api:  # lower-case like the moto.mock_aws / respx.mock it imitates
    """Route every httpx request to ``base_url``'s origin (API and instances) to a backend.

    ``with mock_api() as backend: ...`` or ``@mock_api()`` on a function (which gets the
    backend as its ``backend`` argument if it has one). Without ``backend``, a fresh
    ``FakeBackend(**backend_kwargs)`` is made on each entry. Requests to other hosts fail,
    as respx refuses unmocked requests.
    """

    def __init__(
        self,
        backend: FakeBackend | None = None,
        *,
        base_url: str = DEFAULT_API_BASE_URL,
        **backend_kwargs: Any,
    ) -> None:
        if backend is not None and backend_kwargs:
            raise TypeError("pass either a backend or FakeBackend keyword arguments, not both")
        parts = urlsplit(base_url)
        if parts.path.rstrip("/") != API_PREFIX:
            raise ValueError(f"the fake serves its API under {API_PREFIX}; got {base_url!r}")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._given_backend = backend
        self._backend_kwargs = backend_kwargs
        self._router: respx.MockRouter | None = None

    def __enter__(self) -> FakeBackend:
        backend = self._given_backend or FakeBackend(**self._backend_kwargs)

        def side_effect(request: httpx.Request) -> httpx.Response:
            response = handle(backend, to_fake_request(request))
            if response.delay > 0:
                backend.sleep(response.delay)
            return to_httpx_response(request, response)

        router = respx.mock(assert_all_called=False)
        router.route(url__startswith=self._origin + "/").mock(side_effect=side_effect)
        router.__enter__()
        self._router = router
        return backend

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        router, self._router = self._router, None
        if router is not None:
            router.__exit__(exc_type, exc, traceback)

    def __call__(self, func: F) -> F:
        """Decorate ``func`` so each call runs inside the mock."""
        signature = inspect.signature(func)
        wants_backend = BACKEND_PARAMETER in signature.parameters
        # Hide the parameter we fill, so pytest does not look for a fixture of that name.
        visible = signature.replace(
            parameters=[p for n, p in signature.parameters.items() if n != BACKEND_PARAMETER]
        )

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self as backend:
                    if wants_backend:
                        kwargs[BACKEND_PARAMETER] = backend
                    return await func(*args, **kwargs)

            async_wrapper.__signature__ = visible  # type: ignore[attr-defined]
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self as backend:
                if wants_backend:
                    kwargs[BACKEND_PARAMETER] = backend
                return func(*args, **kwargs)

        wrapper.__signature__ = visible  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

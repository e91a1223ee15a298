"""Credentials that never print, and the OAuth2 client-credentials flow shared by every thread
of a client."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Generator
from urllib.parse import quote, quote_plus

import httpx

REDACTED = "***"

# Refresh this long before the server's expiry (at most a tenth of the lifetime), so a token
# never expires between being handed out and reaching the server.
_EXPIRY_MARGIN = 60.0


class Secret:
    """A string that shows as ``***`` in reprs, logs and tracebacks with locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    __str__ = __repr__


class SecretBody(dict[str, str]):
    """A JSON body that carries a credential; shows as ``{***}`` in reprs and tracebacks."""

    def __repr__(self) -> str:
        return "{***}"


class Redactor:
    """Blanks out every secret a client has held in text bound for a message or a log, also
    where a server echoes it JSON-escaped or URL-encoded."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: Secret) -> None:
        if secret.reveal():
            with self._lock:
                self._secrets.update(_echoed_forms(secret.reveal()))

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return text

    def __repr__(self) -> str:
        return "Redactor()"


def _echoed_forms(value: str) -> set[str]:
    """``value`` as a server may echo it: as is, inside a JSON string (non-ASCII escaped or
    not, ``/`` escaped or not), and percent-encoded in a path, a query or a form (upper- or
    lower-case hex)."""
    escaped = {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    escaped |= {form.replace("/", "\\/") for form in escaped}
    encoded = {quote(value, safe=""), quote(value), quote_plus(value)}
    encoded |= {
        re.sub(r"%[0-9A-F]{2}", lambda escape: escape.group().lower(), form) for form in encoded
    }
    return {value} | escaped | encoded


class ClientCredentials(httpx.Auth):
    """A bearer token for every request, fetched once for all threads and again before it
    expires; a request whose token is refused (401) gets a new one and is sent again.

    ``fetch`` returns a token and its lifetime in seconds. It runs under a lock (it does I/O,
    which is why this is a ``sync_auth_flow``), so threads that need a token while it runs wait
    for its result instead of fetching their own. A token can expire or be revoked between
    being handed out and being checked, even right after a renewal: ``max_renewals`` bounds
    the renewals per request, so credentials the API never accepts still fail.
    """

    def __init__(
        self,
        fetch: Callable[[], tuple[Secret, float]],
        *,
        clock: Callable[[], float],
        redactor: Redactor,
        max_renewals: int,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._redactor = redactor
        self._max_renewals = max_renewals
        self._lock = threading.Lock()
        self._token: Secret | None = None
        self._refresh_at = 0.0

    def token(self) -> Secret:
        """The current token, fetched first if there is none or it is about to expire."""
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                requested_at = self._clock()
                token, lifetime = self._fetch()
                self._redactor.add(token)
                self._token = token
                self._refresh_at = requested_at + lifetime - min(_EXPIRY_MARGIN, lifetime / 10)
            return self._token

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        for renewals_left in range(self._max_renewals, -1, -1):
            token = self.token()
            request.headers["Authorization"] = f"Bearer {token.reveal()}"
            response = yield request
            if response.status_code != 401 or renewals_left == 0:
                return
            # Read it to hand its connection back before a renewal needs one of the pool's.
            response.read()
            self._invalidate(token)

    def _invalidate(self, refused: Secret) -> None:
        """Forget ``refused`` unless another thread has already replaced it."""
        with self._lock:
            if self._token is refused:
                self._token = None

    def __repr__(self) -> str:
        return "ClientCredentials()"

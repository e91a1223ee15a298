"""OAuth2 client-credentials tokens: issuing them and checking one."""

from __future__ import annotations

import random

from pulumi_cortecs.testing.fake._exceptions import BadToken


class TokenStore:
    """Issued tokens and when; a token is refused once ``ttl`` seconds old or after expire_all.

    Tokens come from a seeded generator so runs are reproducible; they are never put in a
    message, so a test log cannot leak one.
    """

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self._issued: dict[str, float] = {}

    def issue(self, now: float) -> str:
        token = f"fake-token-{self._random.getrandbits(128):032x}"
        self._issued[token] = now
        return token

    def expire_all(self) -> None:
        self._issued.clear()

    def check(self, token: str | None, now: float, ttl: float) -> None:
        """Accept a token issued less than ``ttl`` seconds ago, else raise :class:`BadToken`."""
        if not token:
            raise BadToken("missing bearer token")
        issued_at = self._issued.get(token)
        if issued_at is None or now - issued_at >= ttl:
            raise BadToken("invalid or expired token")

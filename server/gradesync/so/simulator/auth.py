"""Bearer tokens of the simulated Sở: issued per school account, bound to its school.

Expiry runs on the monotonic clock, so moving the simulated clock
(``clock_offset``) never expires a token.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Token:
    client_id: str
    school_id: str
    expires_at: float  # time.monotonic()


class TokenRegistry:
    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self.issued = 0

    def issue(self, client_id: str, school_id: str, lifetime: int, *, revoke_old: bool) -> str:
        if revoke_old:
            self._tokens = {k: t for k, t in self._tokens.items() if t.client_id != client_id}
        now = time.monotonic()
        # Drop expired tokens so that the registry stays small in long runs.
        self._tokens = {k: t for k, t in self._tokens.items() if t.expires_at > now}
        value = secrets.token_urlsafe(24)
        self._tokens[value] = Token(client_id, school_id, now + lifetime)
        self.issued += 1
        return value

    def school_of(self, value: str) -> str | None:
        """The school a live token belongs to; ``None`` if unknown, revoked or expired."""
        token = self._tokens.get(value)
        if token is None or token.expires_at <= time.monotonic():
            return None
        return token.school_id

    def clear(self) -> None:
        self._tokens.clear()
        self.issued = 0

"""What the console keeps for the app's life: the signing secret, and what is made
from it (sessions, form tokens) and the password hasher."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.engine import Engine

from api.console.accounts import Passwords
from api.console.csrf import Csrf
from api.console.sessions import Sessions, service_secret
from api.settings import Settings

__all__ = ["ConsoleState"]


class ConsoleState:
    """Built when first used (the store is migrated by then: the default secret lives
    in it)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine

    @cached_property
    def secret(self) -> str:
        """The key that signs sessions and form tokens."""
        return service_secret(self.settings, self.engine)

    @cached_property
    def sessions(self) -> Sessions:
        """Issues and reads session cookies."""
        return Sessions(
            self.secret,
            max_age_s=self.settings.session_max_age_s,
            secure=self.settings.secure_cookies,
        )

    @cached_property
    def csrf(self) -> Csrf:
        """Form tokens."""
        return Csrf(self.secret, secure=self.settings.secure_cookies)

    @cached_property
    def passwords(self) -> Passwords:
        """The Argon2id hasher, bounded in memory and concurrency."""
        return Passwords(
            memory_kib=self.settings.password_memory_kib,
            at_once=self.settings.password_hashes_at_once,
        )

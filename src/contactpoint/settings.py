"""The one settings object: everything configurable comes from the environment.

Secrets have no defaults. Keys are never read from or written to the database.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTACTPOINT_", frozen=True)

    home: Path = Path(".contactpoint")
    database_url: str | None = None
    key_file: Path | None = None
    keys: SecretStr | None = None
    """The whole keyring as JSON, for deployments that inject secrets by environment."""

    @cached_property
    def resolved_key_file(self) -> Path:
        return self.key_file if self.key_file is not None else self.home / "keys" / "keyring.json"

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'contactpoint.db').resolve()}"

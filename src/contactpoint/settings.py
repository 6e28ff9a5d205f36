"""The one settings object: everything configurable comes from the environment.

Secrets have no defaults. Keys are never read from or written to the database.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contactpoint.domain.views import DEFAULT_TEAM_CONTACT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTACTPOINT_", frozen=True)

    home: Path = Path(".contactpoint")
    database_url: str | None = None
    key_file: Path | None = None
    keys: SecretStr | None = None
    """The whole keyring as JSON, for deployments that inject secrets by environment."""
    database_connections: int = Field(default=20, ge=1, le=500)
    """Connections each process keeps open to PostgreSQL, and never more: a request finding
    them all busy waits for one rather than opening another (a new PostgreSQL backend costs
    more than most requests)."""
    search_threads: int = Field(default=2, ge=1, le=200)
    """Searches one server process runs at once; the rest wait their turn in order.
    Python runs one thread of a process at a time, so more searches at once than a few
    only share the same core more finely, and every one of them finishes later: with 32
    clients on 2 workers (100,000 children, docs/benchmarks.md) 2 gave 142.6 searches/s
    and p99 336 ms where 4 gave 129.8 and 411, and 40 (anyio's default) 129.6 and 483."""
    match_model: Path | None = None
    """A model file made by ``contactpoint linkage train``; the shipped one when unset."""
    population: int = Field(default=11_000_000, ge=1)
    """How many children the index serves: sets the matcher's prior (see docs/linkage.md)."""
    api_token_minutes: int = Field(default=15, ge=1, le=60)
    """How long a JSON API bearer token lasts; short, because a stolen one works until then."""
    team_contact: str = Field(default=DEFAULT_TEAM_CONTACT, min_length=1, max_length=500)
    """Whom a shielded or emergency view tells the reader to call, 24 hours a day, beside the
    child's own social care team where the record names one (see docs/access.md)."""
    search_limit_per_minute: int = Field(default=20, ge=1)
    """Weighted searches one user may make in any 60 seconds (see docs/search.md)."""
    search_limit_per_day: int = Field(default=300, ge=1)
    """Weighted searches one user may make in any 24 hours; passing it raises an alert."""
    search_probe_weight: int = Field(default=3, ge=1)
    """How many searches one that finds no single child, or is too vague to run, counts as."""
    cookie_secure: bool = True
    """Mark the pages' cookies ``Secure`` (and name them ``__Host-``). Turn off only for a
    plain-HTTP test server on a host the browser does not treat as secure."""
    frontend_dir: Path | None = None
    """govuk-frontend's ``dist/govuk`` directory; found in ``node_modules`` when unset."""

    @cached_property
    def api_token_lifetime(self) -> timedelta:
        return timedelta(minutes=self.api_token_minutes)

    @cached_property
    def resolved_key_file(self) -> Path:
        return self.key_file if self.key_file is not None else self.home / "keys" / "keyring.json"

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'contactpoint.db').resolve()}"

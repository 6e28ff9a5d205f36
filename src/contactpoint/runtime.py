"""Wiring: from settings to an open database, keyring and vault.

The one place the outside world (environment, files, database) is turned into
the objects the services take, so services themselves stay free of set-up.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from contactpoint.clock import Clock, SystemClock
from contactpoint.errors import ContactPointError, KeyMaterialError
from contactpoint.identity.linker import ProbabilisticLinker
from contactpoint.identity.model import load_model
from contactpoint.settings import Settings
from contactpoint.store.data_keys import SqlDataKeyStore, all_data_keys
from contactpoint.store.database import READ_ONLY, make_engine, normalise_url, session_factory
from contactpoint.store.installation import get_installation
from contactpoint.store.migrate import current_revision, head_revision
from contactpoint.vault.blind_index import BlindIndexer, ContentDigester
from contactpoint.vault.envelope import Vault, WrappedDataKey, unwrap_data_key
from contactpoint.vault.keyring import Keyring, read_keyring_file


def check_keyring_opens(keyring: Keyring, data_keys: list[WrappedDataKey]) -> None:
    """One data key per key version must unwrap, or this is the wrong keyring."""
    seen: set[int] = set()
    for key in data_keys:
        if key.kek_version not in seen:
            unwrap_data_key(keyring, key)
            seen.add(key.kek_version)


def verify_keyring(session: Session, keyring: Keyring, where: str) -> None:
    """Refuse a keyring that does not belong to this database, before any use."""
    installation = get_installation(session)
    if installation is not None:
        index_check, audit_check = keyring.check_values()
        same_index = hmac.compare_digest(index_check, installation.index_key_check)
        same_audit = hmac.compare_digest(audit_check, installation.audit_key_check)
        if not (same_index and same_audit):
            raise KeyMaterialError(
                f"The keyring from {where} is the wrong keyring for this database (its check "
                "values differ): point CONTACTPOINT_KEY_FILE at this installation's keyring, or "
                "restore it from your key backup."
            )
    check_keyring_opens(keyring, all_data_keys(session))


def load_keyring(settings: Settings) -> Keyring:
    if settings.keys is not None:
        return Keyring.from_json(settings.keys.get_secret_value(), "CONTACTPOINT_KEYS")
    return read_keyring_file(settings.resolved_key_file)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    keyring: Keyring
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @cached_property
    def vault(self) -> Vault:
        return Vault(
            self.keyring,
            SqlDataKeyStore(self.key_engine, self.clock),
            reload_keyring=lambda: load_keyring(self.settings),
        )

    @cached_property
    def key_engine(self) -> Engine:
        """The vault reads a data key (once per process and key) while the request that
        needs it already holds one of the pool's connections. Its connections are its
        own, unpooled, so a pool that every request has drawn on cannot hold it up until
        the pool's timeout."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return self.engine
        return make_engine(url.render_as_string(hide_password=False), poolclass=NullPool)

    @cached_property
    def indexer(self) -> BlindIndexer:
        return BlindIndexer(self.keyring)

    @cached_property
    def digester(self) -> ContentDigester:
        return ContentDigester(self.keyring)

    @cached_property
    def linker(self) -> ProbabilisticLinker:
        model = load_model(self.settings.match_model)
        return ProbabilisticLinker(model.for_population(self.settings.population))


def ensure_home(settings: Settings) -> None:
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)


def open_engine(settings: Settings) -> Engine:
    if settings.database_url is None:
        ensure_home(settings)
        return make_engine(settings.resolved_database_url)
    if normalise_url(settings.database_url).get_backend_name() == "postgresql":
        return make_engine(
            settings.database_url, pool_size=settings.database_connections, max_overflow=0
        )
    return make_engine(settings.resolved_database_url)


def open_runtime(settings: Settings | None = None, clock: Clock | None = None) -> Runtime:
    """Open an initialised installation, or say exactly what is missing."""
    settings = settings or Settings()
    if settings.database_url is None and not (settings.home / "contactpoint.db").exists():
        raise ContactPointError(
            f"No ContactPoint database in {settings.home.resolve()}: run 'contactpoint init' "
            "first (or set CONTACTPOINT_HOME / CONTACTPOINT_DATABASE_URL)."
        )
    engine = open_engine(settings)
    try:
        revision = current_revision(engine)
    except Exception as exc:
        raise ContactPointError(
            "Cannot reach the database named by CONTACTPOINT_DATABASE_URL: check it is running "
            "and the URL is right."
        ) from exc
    if revision != head_revision():
        raise ContactPointError(
            "The database schema is not up to date: run 'contactpoint init' to upgrade it."
        )
    keyring = load_keyring(settings)
    with (
        engine.connect() as connection,
        Session(connection.execution_options(**{READ_ONLY: True})) as session,
    ):
        if get_installation(session) is None:
            raise ContactPointError("This database is not initialised: run 'contactpoint init'.")
        verify_keyring(session, keyring, describe_key_source(settings))
    return Runtime(settings=settings, engine=engine, keyring=keyring, clock=clock or SystemClock())


def describe_key_source(settings: Settings) -> str:
    if settings.keys is not None:
        return "CONTACTPOINT_KEYS"
    return os.fspath(settings.resolved_key_file)


__all__ = ["KeyMaterialError", "Runtime", "load_keyring", "open_engine", "open_runtime"]

"""The FastAPI app over the real SQLite and PostgreSQL test databases.

The app gets a :class:`~contactpoint.runtime.Runtime` whose sessions and vault
are bound to the test's connection, so every request commits to a savepoint
inside the test's outer transaction and the whole test is rolled back after.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.audit.trail import Actor
from contactpoint.clock import FixedClock
from contactpoint.domain.vocabulary import Role
from contactpoint.identity.linker import ProbabilisticLinker
from contactpoint.identity.model import load_model
from contactpoint.runtime import Runtime
from contactpoint.services.audit_check import verify_audit
from contactpoint.services.sign_in import Principal
from contactpoint.services.users import add_user
from contactpoint.settings import Settings
from contactpoint.store import migrate
from contactpoint.store.database import make_engine
from contactpoint.store.tables import AuditEntry
from contactpoint.vault.envelope import Vault
from contactpoint.vault.keyring import Keyring
from contactpoint.web.app import create_app
from contactpoint.web.dependencies import require_role
from tests.conftest import PgDatabases
from tests.services.helpers import Ingest
from tests.services.search_population import Population, build_population

PASSWORD = "correct horse battery staple"
WHOAMI = "/api/v1/test/whoami"
TOKEN = "/api/v1/auth/token"
REVOKE = "/api/v1/auth/revoke"
STEP = timedelta(seconds=30)


@dataclass
class Account:
    username: str
    secret: str = field(repr=False)
    password: str = field(default=PASSWORD, repr=False)


@dataclass
class Api:
    """The app, a client per address, and the means to make users and read the audit log."""

    app: FastAPI
    runtime: Runtime
    sessions: sessionmaker[Session]
    vault: Vault
    clock: FixedClock
    actor: Actor
    clients: dict[str, TestClient] = field(default_factory=dict)
    secrets_seen: list[str] = field(default_factory=list)

    def client(self, address: str = "192.0.2.10") -> TestClient:
        if address not in self.clients:
            self.clients[address] = TestClient(self.app, client=(address, 50000))
        return self.clients[address]

    def add(
        self, username: str, role: Role = Role.PRACTITIONER, area: str | None = None
    ) -> Account:
        self.vault.prepare()
        with self.sessions.begin() as session:
            new = add_user(
                session,
                vault=self.vault,
                clock=self.clock,
                audit_key=self.runtime.keyring.audit_key,
                actor=self.actor,
                username=username,
                password=PASSWORD,
                role=role,
                organisation="Leeds Park Primary School",
                area=area if area is not None or role is not Role.LA_ADMIN else "Leeds",
            )
        secret = parse_qs(urlparse(new.totp_uri).query)["secret"][0]
        self.secrets_seen.append(secret)
        return Account(username, secret)

    def code(self, account: Account, steps: int = 0) -> str:
        code = str(pyotp.TOTP(account.secret).at(self.clock.now() + steps * STEP))
        self.secrets_seen.append(code)
        return code

    def sign_in(
        self,
        account: Account | str,
        *,
        password: str | None = None,
        code: str | None = None,
        address: str = "192.0.2.10",
    ) -> httpx.Response:
        if isinstance(account, str):
            body = {"username": account, "password": password or PASSWORD, "totp": code or "000000"}
        else:
            body = {
                "username": account.username,
                "password": password if password is not None else account.password,
                "totp": code if code is not None else self.code(account),
            }
        self.secrets_seen.append(body["password"])
        response = self.client(address).post(TOKEN, json=body)
        if response.status_code == 200:
            self.secrets_seen.append(response.json()["access_token"])
        return response

    def token(self, account: Account, address: str = "192.0.2.10") -> str:
        response = self.sign_in(account, address=address)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def next_step(self) -> None:
        """Move past the TOTP step just used, so the next sign-in has a fresh code."""
        self.clock.advance(STEP)

    def get(self, path: str, token: str | None) -> httpx.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return self.client().get(path, headers=headers)

    def post(self, path: str, token: str | None, address: str = "192.0.2.10") -> httpx.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return self.client(address).post(path, headers=headers)

    def audit(self, action: str | None = None) -> list[dict[str, Any]]:
        with self.sessions() as session:
            query = select(AuditEntry).order_by(AuditEntry.seq)
            if action is not None:
                query = query.where(AuditEntry.action == action)
            return [
                {
                    "seq": e.seq,
                    "actor": e.actor,
                    "role": e.role,
                    "action": e.action,
                    "outcome": e.outcome,
                    "reason_code": e.reason_code,
                    "details": json.loads(e.details),
                    "raw": e.details,
                }
                for e in session.execute(query).scalars()
            ]

    def assert_audit_chain_intact(self) -> None:
        with self.sessions() as session:
            result = verify_audit(session, self.runtime.keyring.audit_key)
        assert result.ok, result


Practitioner = Annotated[Principal, Depends(require_role(Role.PRACTITIONER, Role.EMERGENCY))]


def add_whoami(app: FastAPI) -> None:
    """A route for practitioners and emergency users, standing in for the routers to come."""

    @app.get(WHOAMI)
    def whoami(caller: Practitioner) -> dict[str, Any]:
        return {
            "user_id": caller.user_id,
            "username": caller.username,
            "role": caller.role.value,
            "organisation": caller.organisation,
            "area": caller.area,
            "token_id": str(caller.token_id),
            "actor": caller.actor().name,
        }


@pytest.fixture
def api(
    engine: Engine,
    sessions: sessionmaker[Session],
    vault: Vault,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
    tmp_path: Path,
) -> Iterator[Api]:
    runtime = Runtime(
        settings=Settings(home=tmp_path, database_url=str(engine.url), api_token_minutes=15),
        engine=engine,
        keyring=keyring,
        clock=clock,
    )
    runtime.sessions = sessions  # type: ignore[misc]
    runtime.vault = vault  # type: ignore[misc]
    app = create_app(runtime)
    add_whoami(app)
    api = Api(app=app, runtime=runtime, sessions=sessions, vault=vault, clock=clock, actor=actor)
    yield api
    for client in api.clients.values():
        client.close()


@pytest.fixture
def committing_api(
    pg_databases: PgDatabases,
    keyring: Keyring,
    clock: FixedClock,
    actor: Actor,
    tmp_path: Path,
) -> Iterator[Api]:
    """The app as it is served: its sessions own their transactions, on a PostgreSQL
    database of the test's own, so a request commits for real (the database is dropped
    with the others at the end)."""
    url = pg_databases.create()
    engine = make_engine(url)
    migrate.upgrade(engine)
    runtime = Runtime(
        settings=Settings(home=tmp_path, database_url=url, api_token_minutes=15),
        engine=engine,
        keyring=keyring,
        clock=clock,
    )
    app = create_app(runtime)
    api = Api(
        app=app,
        runtime=runtime,
        sessions=runtime.sessions,
        vault=runtime.vault,
        clock=clock,
        actor=actor,
    )
    yield api
    for client in api.clients.values():
        client.close()
    engine.dispose()


@pytest.fixture
def population(api: Api, tmp_path: Path) -> Population:
    api.vault.prepare()
    # The test index is a small one: the matcher's prior for the sample it was trained on.
    api.runtime.linker = ProbabilisticLinker(load_model())  # type: ignore[misc]
    ingest = Ingest(tmp_path, api.sessions, api.vault, api.runtime.keyring, api.clock, api.actor)
    return build_population(
        ingest,
        api.sessions,
        clock=api.clock,
        audit_key=api.runtime.keyring.audit_key,
        actor=api.actor,
    )

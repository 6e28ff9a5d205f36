"""The app keeps its health check, its pages' entry, security headers and OpenAPI description."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from contactpoint.audit.trail import Actor
from contactpoint.runtime import Runtime
from contactpoint.services.setup import initialise
from contactpoint.settings import Settings
from contactpoint.web.app import SECURITY_HEADERS, create_app
from tests.web.conftest import Api


def test_health_and_headers(api: Api) -> None:
    answer = api.client().get("/healthz")
    assert answer.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value


def test_home_sends_a_stranger_to_sign_in_with_the_pages_own_strict_policy(api: Api) -> None:
    answer = api.client().get("/")

    assert answer.status_code == 200
    assert answer.url.path == "/sign-in"
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "'unsafe-inline'" not in policy
    assert "script-src 'self' 'nonce-" in policy
    for name in ("X-Content-Type-Options", "Referrer-Policy", "Cache-Control"):
        assert answer.headers[name] == SECURITY_HEADERS[name]


def test_openapi_describes_sign_in_and_the_bearer_scheme(api: Api) -> None:
    spec = api.client().get("/api/v1/openapi.json").json()

    assert {"/api/v1/auth/token", "/api/v1/auth/revoke", "/api/v1/users/{username}/disable"} <= set(
        spec["paths"]
    )
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    token = spec["paths"]["/api/v1/auth/token"]["post"]
    assert "401" in token["responses"]
    revoke = spec["paths"]["/api/v1/auth/revoke"]["post"]
    assert revoke["security"] == [{"bearer": []}]


def test_without_a_runtime_the_app_opens_one_from_the_environment_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, actor: Actor
) -> None:
    for name in ("CONTACTPOINT_DATABASE_URL", "CONTACTPOINT_KEYS", "CONTACTPOINT_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONTACTPOINT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CONTACTPOINT_API_TOKEN_MINUTES", "5")
    initialise(Settings(), actor)
    app = create_app()

    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        runtime = app.state.runtime
        assert isinstance(runtime, Runtime)
        assert runtime.settings.api_token_lifetime.total_seconds() == 300
        answer = client.post(
            "/api/v1/auth/token", json={"username": "x.y", "password": "p", "totp": "1"}
        )
        assert answer.status_code == 401

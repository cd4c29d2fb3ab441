import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.conftest import free_port
from tests.helpers import wait_until_ready


def test_ready_when_the_real_redis_answers(redis_url):
    with TestClient(create_app(GatewaySettings(redis_url=redis_url))) as client:
        body = wait_until_ready(client)
        assert body["ready"] is True
        assert body["checks"]["redis"].startswith("ok: redis ")


def test_not_ready_but_alive_without_redis():
    settings = GatewaySettings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["redis"].startswith("failed: redis://127.0.0.1")


def test_production_refuses_the_development_pepper(monkeypatch):
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="GATEWAY_API_KEY_PEPPER is the development default"):
        GatewaySettings()
    monkeypatch.setenv("GATEWAY_API_KEY_PEPPER", "a-real-secret")
    assert GatewaySettings().environment == "production"


def test_gateway_environment_has_no_torch():
    import importlib.util

    assert importlib.util.find_spec("torch") is None, "the gateway extra must not pull torch"

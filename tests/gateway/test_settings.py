import importlib.util

import pytest

from services.gateway.settings import GatewaySettings


SECRET = "3f1c9a7e5b2d4f6081a3c5e7092b4d6f"


@pytest.fixture
def production(monkeypatch):
    """The environment of a production gateway that passes every check; tests break one thing each."""
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "production")
    monkeypatch.setenv("GATEWAY_API_KEY_PEPPER", SECRET)
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_WHEN_REDIS_DOWN", "closed")
    monkeypatch.setenv("NINJARAG_SERVICE_TOKEN", SECRET[::-1])
    return monkeypatch


def test_production_settings_pass_when_every_secret_is_set(production):
    settings = GatewaySettings()
    assert settings.environment == "production" and not settings.public_docs


@pytest.mark.parametrize(("value", "problem"), [
    ("dev-pepper-change-me", "GATEWAY_API_KEY_PEPPER is the development default"),
    ("too-short", "shorter than 32 characters"),
    ("change-me-to-a-long-random-secret", "is a placeholder"),  # the value in .env.example
    ("x" * 40, "is a placeholder"),
])
def test_production_refuses_weak_peppers(production, value, problem):
    production.setenv("GATEWAY_API_KEY_PEPPER", value)
    with pytest.raises(ValueError, match=problem):
        GatewaySettings()


def test_production_refuses_fail_open_rate_limits_and_a_missing_service_token(production):
    production.setenv("GATEWAY_RATE_LIMIT_WHEN_REDIS_DOWN", "open")
    production.delenv("NINJARAG_SERVICE_TOKEN")
    with pytest.raises(ValueError) as refused:
        GatewaySettings()
    assert "RATE_LIMIT_WHEN_REDIS_DOWN=open" in str(refused.value)
    assert "NINJARAG_SERVICE_TOKEN is not set" in str(refused.value)


def test_production_refuses_unguarded_answers(production):
    production.setenv("GATEWAY_ALLOW_UNGUARDED", "true")
    with pytest.raises(ValueError, match="GATEWAY_ALLOW_UNGUARDED lets clients skip the guard"):
        GatewaySettings()


def test_gateway_environment_has_no_torch():
    assert importlib.util.find_spec("torch") is None, "the gateway extra must not pull torch"


def test_keys_are_stored_hashed(gateway, redis_url):
    import redis

    store = gateway.app.state.gatekeeper.keys
    key, record = gateway.portal.call(store.create, "hashed", 5)
    client = redis.Redis.from_url(redis_url)
    dump = b"".join(client.dump(name) or b"" for name in client.keys("*"))
    assert key.encode() not in dump and key[3:].encode() not in dump
    assert [k.key_id for k in gateway.portal.call(store.list)] == [record.key_id]

import importlib.util

import pytest

from services.gateway.settings import GatewaySettings


def test_production_refuses_the_development_pepper(monkeypatch):
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="GATEWAY_API_KEY_PEPPER is the development default"):
        GatewaySettings()
    monkeypatch.setenv("GATEWAY_API_KEY_PEPPER", "too-short")
    with pytest.raises(ValueError, match="shorter than 32 characters"):
        GatewaySettings()
    monkeypatch.setenv("GATEWAY_API_KEY_PEPPER", "x" * 40)
    assert GatewaySettings().environment == "production"


def test_production_refuses_unguarded_answers(monkeypatch):
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "production")
    monkeypatch.setenv("GATEWAY_API_KEY_PEPPER", "x" * 40)
    monkeypatch.setenv("GATEWAY_ALLOW_UNGUARDED", "true")
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

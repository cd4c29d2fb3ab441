import pytest
from fastapi.testclient import TestClient

from services.guard.app import create_app
from services.guard.settings import GuardSettings
from tests.helpers import wait_until_ready

APOLLO = {"id": "apollo", "title": "Apollo 11", "text": (
    "Apollo 11 was the American spaceflight that first landed humans on the Moon. "
    "Commander Neil Armstrong and pilot Buzz Aldrin landed on July 20, 1969.")}
PARIS = {"id": "paris", "title": "Paris", "text": "Paris is the capital and largest city of France."}


@pytest.fixture(scope="session")
def client():
    with TestClient(create_app(GuardSettings(cpu_threads=1))) as client:
        assert wait_until_ready(client)["ready"]
        yield client

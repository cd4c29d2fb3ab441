from fastapi.testclient import TestClient

from services.guard.app import create_app
from services.guard.settings import GuardSettings
from services.guard.toxicity import ToxicityScorer
from tests.helpers import wait_until_ready


def test_toxicity_model_tells_abuse_from_a_question():
    scorer = ToxicityScorer()
    scorer.warm_up()
    assert scorer.score("you are a stupid worthless idiot, shut up") > 0.8
    assert scorer.score("When did Apollo 11 land on the Moon?") < 0.2


def test_service_ready_once_the_toxicity_model_loaded():
    with TestClient(create_app(GuardSettings(cpu_threads=1))) as client:
        assert wait_until_ready(client) == {"service": "guard", "ready": True, "checks": {"toxicity": "ok: alt-profanity-check"}}

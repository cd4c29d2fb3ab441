import json

from fastapi.testclient import TestClient

from services.retriever.app import create_app
from services.retriever.settings import RetrieverSettings
from tests.helpers import wait_until_ready


def write_corpus(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_ready_once_the_corpus_is_loaded(tmp_path):
    corpus = write_corpus(tmp_path / "c.jsonl", [
        json.dumps({"id": "a-0", "title": "Alpha", "text": "Alpha is the first letter."}),
        json.dumps({"id": "b-0", "title": "Beta", "text": "Beta is the second letter."}),
    ])
    app = create_app(RetrieverSettings(corpus_path=corpus, cpu_threads=1))
    with TestClient(app) as client:
        body = wait_until_ready(client)
        assert body == {"service": "retriever", "ready": True, "checks": {"corpus": "ok: 2 passages"}}
        assert app.state.passages.get("b-0").title == "Beta"


def test_a_malformed_corpus_leaves_it_alive_and_not_ready_saying_where(tmp_path):
    corpus = write_corpus(tmp_path / "c.jsonl", [json.dumps({"id": "a-0", "title": "A", "text": "x"}), "{oops"])
    with TestClient(create_app(RetrieverSettings(corpus_path=corpus, cpu_threads=1))) as client:
        body = wait_until_ready(client)
        assert body["ready"] is False
        assert f"{corpus}:2: not valid JSON" in body["checks"]["corpus"]
        assert client.get("/healthz").status_code == 200


def test_the_retriever_environment_has_colbert_and_transformers_4():
    import colbert  # noqa: F401
    import transformers

    assert transformers.__version__.startswith("4.")

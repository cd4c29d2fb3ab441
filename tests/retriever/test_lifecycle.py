"""Index lifecycle: reload without dropping requests; a missing or broken index is a clear 503."""

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from services.retriever.app import create_app
from services.retriever.settings import RetrieverSettings
from tests.helpers import wait_until_ready


def test_reload_swaps_the_index_while_requests_keep_being_served(client, small_index):
    def search(i: int) -> int:
        return client.post("/v1/search", json={"query": f"music number {i}", "k": 5, "mode": "hybrid"}).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        searches = [pool.submit(search, i) for i in range(24)]
        reload = pool.submit(client.post, "/v1/admin/reload", json={})
        statuses = [future.result() for future in searches]
        reloaded = reload.result()
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["index_dir"] == str(small_index)
    assert statuses == [200] * 24
    assert client.get("/readyz").json()["ready"] is True


def test_reload_of_a_missing_index_fails_clearly_and_keeps_the_old_one(client):
    response = client.post("/v1/admin/reload", json={"index": "nothing-here"})
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "reload_failed"
    assert "nothing-here could not be loaded" in body["detail"] and "still serving the previous index" in body["detail"]
    assert client.post("/v1/search", json={"query": "opera", "k": 1}).status_code == 200


@pytest.mark.parametrize("name", ["../demo", "/etc", "a/b", "..", ".hidden", ""])
def test_reload_takes_an_index_name_never_a_path(client, name):
    response = client.post("/v1/admin/reload", json={"index": name})
    assert response.status_code == 422 and response.json()["type"] == "invalid_request"
    assert client.post("/v1/admin/reload", json={"index_dir": "/etc"}).json()["type"] == "invalid_request"


def test_missing_index_at_start_is_not_ready_and_search_is_503(home, tmp_path):
    settings = RetrieverSettings(index_dir=tmp_path / "absent", checkpoint_path=home.colbert_checkpoint, cpu_threads=1)
    with TestClient(create_app(settings)) as client:
        ready = wait_until_ready(client)
        assert ready["ready"] is False
        assert "build one with `ninjarag index build`" in ready["checks"]["index"]
        response = client.post("/v1/search", json={"query": "opera"})
        assert response.status_code == 503
        assert response.json()["type"] == "index_unavailable"
        assert response.headers["retry-after"] == "5"
        assert "Traceback" not in response.text


def test_corrupt_index_at_start_is_a_clear_503(home, small_index, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(small_index, broken)
    (broken / "plaid" / "0.residuals.pt").write_bytes(b"truncated")
    settings = RetrieverSettings(index_dir=broken, checkpoint_path=home.colbert_checkpoint, cpu_threads=1)
    with TestClient(create_app(settings)) as client:
        ready = wait_until_ready(client, timeout_s=120)
        assert ready["ready"] is False
        assert ready["checks"]["index"].startswith(f"failed: cannot load the index at {broken}")
        response = client.post("/v1/search", json={"query": "opera"})
        assert response.status_code == 503 and response.json()["type"] == "index_unavailable"


def test_a_lexical_only_index_serves_bm25_until_the_dense_one_is_built_over_it(home, small_corpus, small_index, tmp_path):
    """A first `ninjarag demo` answers from BM25 while the dense index builds, then reloads."""
    from services.retriever.build.indexing import BuildOptions, build_index

    served = tmp_path / "demo"
    assert build_index(small_corpus, served, BuildOptions(checkpoint=home.colbert_checkpoint), dense=False).dense is False
    assert not (served / "plaid").exists()
    settings = RetrieverSettings(index_dir=served, checkpoint_path=home.colbert_checkpoint, cpu_threads=1)
    with TestClient(create_app(settings)) as client:
        ready = wait_until_ready(client, timeout_s=120)
        assert ready["ready"] is True and "BM25 only" in ready["checks"]["index"]

        def ids(mode: str) -> list[str]:
            response = client.post("/v1/search", json={"query": "opera singer", "k": 5, "mode": mode})
            assert response.status_code == 200, response.text
            return [p["id"] for p in response.json()["passages"]]

        assert ids("hybrid") == ids("plaid") == ids("bm25") and ids("bm25")
        assert client.get("/v1/index").json()["encoding"] == "none (BM25 only)"
        rerank = client.post("/v1/rerank", json={"query": "opera", "passages": [{"id": "a", "title": "", "text": "opera"}]})
        assert rerank.status_code == 503 and "still being built" in rerank.json()["detail"]

        shutil.rmtree(served)
        shutil.copytree(small_index, served)  # what the background build's rename leaves in place
        assert client.post("/v1/admin/reload", json={}).status_code == 200
        assert client.get("/v1/index").json()["encoding"] == "plain"
        assert "BM25 only" not in client.get("/readyz").json()["checks"]["index"]
        assert ids("plaid")  # dense search is back

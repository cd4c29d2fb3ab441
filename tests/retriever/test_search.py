"""POST /v1/search, /v1/search/batch and /v1/rerank against a real PLAID + BM25 index."""

import json

import pytest

MODES = ["plaid", "bm25", "hybrid"]
KNOWN = [
    ("Who directed the film with the HAL 9000 computer?", "2001: A Space Odyssey"),
    ("Which skyscraper in Dubai is the tallest building?", "Burj Khalifa"),
    ("Who wrote the novel about Don Quixote?", "Don Quixote"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("question", "title"), KNOWN)
def test_known_passage_is_in_the_top_3(client, mode, question, title):
    response = client.post("/v1/search", json={"query": question, "k": 10, "mode": mode})
    assert response.status_code == 200, response.text
    titles = [p["title"] for p in response.json()["passages"]]
    assert title in titles[:3], titles


@pytest.mark.parametrize("mode", MODES)
def test_scores_are_sorted_and_k_is_honoured(client, mode):
    for k in (1, 5, 100):
        body = client.post("/v1/search", json={"query": "famous paintings in museums", "k": k, "mode": mode}).json()
        scores = [p["score"] for p in body["passages"]]
        assert scores == sorted(scores, reverse=True)
        assert 1 <= len(scores) <= k
        assert len({p["id"] for p in body["passages"]}) == len(scores)
    assert body["timings_ms"]["total"] > 0


def test_result_carries_the_index_version_from_the_manifest(client, small_index):
    manifest = json.loads((small_index / "manifest.json").read_text())
    body = client.post("/v1/search", json={"query": "opera", "k": 3}).json()
    assert body["index_version"] == manifest["index_version"]
    assert manifest["passages"] == 300 and manifest["encoding"] == "plain" and manifest["nbits"] == 2


@pytest.mark.parametrize("mode", MODES)
def test_batch_form_equals_single_calls(client, mode):
    queries = [question for question, _ in KNOWN]
    batch = client.post("/v1/search/batch", json={"queries": queries, "k": 5, "mode": mode}).json()["results"]
    for query, result in zip(queries, batch, strict=True):
        single = client.post("/v1/search", json={"query": query, "k": 5, "mode": mode}).json()
        assert [p["id"] for p in result["passages"]] == [p["id"] for p in single["passages"]]
        assert [p["score"] for p in result["passages"]] == pytest.approx([p["score"] for p in single["passages"]], rel=1e-3)


def test_rerank_orders_given_passages_by_maxsim(client):
    hits = client.post("/v1/search", json={"query": "ballet dance", "k": 8, "mode": "bm25"}).json()["passages"]
    target = client.post("/v1/search", json={"query": "HAL 9000", "k": 1, "mode": "bm25"}).json()["passages"]
    given = [{k: v for k, v in p.items() if k != "score"} for p in hits + target]
    body = client.post("/v1/rerank", json={"query": "Which film features the HAL 9000 computer?", "passages": given}).json()
    assert body["passages"][0]["title"] == "2001: A Space Odyssey"
    scores = [p["score"] for p in body["passages"]]
    assert scores == sorted(scores, reverse=True)
    assert sorted(p["id"] for p in body["passages"]) == sorted(p["id"] for p in given)


@pytest.mark.parametrize(
    ("request_kwargs", "field"),
    [
        ({"json": {"query": "", "k": 5}}, "query"),
        ({"json": {"query": "   "}}, "query"),
        ({"json": {"query": "ok", "k": 0}}, "k"),
        ({"json": {"query": "ok", "k": 1000}}, "k"),
        ({"json": {"query": "x" * 100_000}}, "query"),
        ({"json": {"query": "ok", "mode": "dense"}}, "mode"),
        ({"content": b"not json", "headers": {"content-type": "application/json"}}, None),
    ],
)
def test_bad_input_is_a_clear_422_and_the_service_keeps_serving(client, request_kwargs, field):
    response = client.post("/v1/search", **request_kwargs)
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "invalid_request"
    if field:
        assert body["errors"][0]["field"] == field
    assert client.post("/v1/search", json={"query": "opera", "k": 1}).status_code == 200


def test_batch_and_rerank_bounds(client):
    assert client.post("/v1/search/batch", json={"queries": []}).status_code == 422
    assert client.post("/v1/rerank", json={"query": "q", "passages": []}).status_code == 422

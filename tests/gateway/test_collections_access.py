"""Per-key access to collections, on every route that takes one: a key never learns anything about a
collection it cannot read (the same 404 as for one that does not exist), and may change only those
it may write. Feedback: a key rates its own answers; only admin keys read feedback back."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import auth, read_events, scoped_key

NOT_FOUND = {"type": "collection_not_found", "status": 404}


def routes_taking(name: str) -> list[tuple[str, str, dict]]:
    """(method, path, request kwargs) for every gateway route that names a collection."""
    return [
        ("POST", "/v1/answer", {"json": {"question": "When did Apollo 11 land?", "collection": name, "stream": False}}),
        ("POST", "/v1/answer", {"json": {"question": "When did Apollo 11 land?", "collection": name}}),
        ("POST", "/v1/chat/completions", {"json": {"messages": [{"role": "user", "content": "Apollo?"}],
                                                   "collection": name}}),
        ("GET", f"/v1/collections/{name}", {}),
        ("DELETE", f"/v1/collections/{name}", {}),
        ("POST", f"/v1/collections/{name}/documents", {"files": [("files", ("a.txt", b"some text"))]}),
        ("DELETE", f"/v1/collections/{name}/documents/doc-1", {}),
    ]


@pytest.mark.parametrize("name", ["secret", "nowhere"])
def test_a_collection_the_key_cannot_read_does_not_exist_for_it(gateway, script, name):
    key = scoped_key(gateway, read=("demo", "team"))
    bodies = []
    for method, path, kwargs in routes_taking(name):
        response = gateway.request(method, path, headers=auth(key), **kwargs)
        assert response.status_code == 404, (method, path, response.text)
        body = response.json()
        assert {k: body[k] for k in NOT_FOUND} == NOT_FOUND, (method, path, body)
        bodies.append(body["detail"])
    # The same words whether the collection exists or not: nothing to tell them apart.
    assert set(bodies) == {f"no collection {name!r}; GET /v1/collections lists those this key may read"}
    assert script.calls.get("/v1/search", 0) == 0 and script.calls.get(f"/v1/collections/{name}/documents", 0) == 0
    listed = gateway.get("/v1/collections", headers=auth(key)).json()["collections"]
    assert [c["name"] for c in listed] == ["demo", "team"]


def test_jobs_of_unreadable_collections_are_not_found(gateway, script):
    writer = scoped_key(gateway, write=("secret",))
    job = gateway.post("/v1/collections/secret/documents", headers=auth(writer),
                       files=[("files", ("a.txt", b"text"))]).json()
    assert gateway.get(f"/v1/jobs/{job['id']}", headers=auth(writer)).json()["collection"] == "secret"
    reader = scoped_key(gateway, read=("demo",))
    hidden = gateway.get(f"/v1/jobs/{job['id']}", headers=auth(reader))
    unknown = gateway.get(f"/v1/jobs/{'f' * 32}", headers=auth(reader))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["type"] == unknown.json()["type"] == "job_not_found"
    assert hidden.json()["detail"].replace(job["id"], "ID") == unknown.json()["detail"].replace("f" * 32, "ID")


def test_reading_is_not_writing(gateway, script):
    key = scoped_key(gateway, read=("team",))
    assert gateway.get("/v1/collections/team", headers=auth(key)).json()["name"] == "team"
    for method, path, kwargs in routes_taking("team")[4:]:
        response = gateway.request(method, path, headers=auth(key), **kwargs)
        assert response.status_code == 403 and response.json()["type"] == "forbidden", (method, path)
        assert "--write team" in response.json()["detail"]
    created = gateway.post("/v1/collections", headers=auth(key), json={"name": "mine"})
    assert created.status_code == 403 and "may not create collection 'mine'" in created.json()["detail"]
    writer = scoped_key(gateway, write=("mine",))
    assert gateway.post("/v1/collections", headers=auth(writer), json={"name": "mine"}).status_code == 201


def test_a_key_without_the_default_collection_gets_no_answer(gateway, script):
    key = scoped_key(gateway, read=("team",))
    refused = gateway.post("/v1/answer", headers=auth(key), json={"question": "When did Apollo 11 land?"})
    assert refused.status_code == 404 and refused.json()["type"] == "collection_not_found"
    allowed = gateway.post("/v1/answer", headers=auth(key), json={"question": "When did Apollo 11 land?",
                                                                   "collection": "team", "filters": {"lang": "en"}})
    assert allowed.status_code == 200
    assert script.last_body["/v1/search"]["collection"] == "team"
    assert script.last_body["/v1/search"]["filters"] == {"lang": "en"}


def test_answers_are_cached_per_collection(gateway, script):
    key = scoped_key(gateway, read=("demo", "team"))
    for collection in ("demo", "team", "demo", "team"):
        gateway.post("/v1/answer", headers=auth(key), json={"question": "When did Apollo 11 land?",
                                                             "collection": collection, "stream": False})
    assert script.calls["/v1/search"] == 2  # one per collection; the repeats are cache hits


def test_uploads_reach_the_retriever_as_multipart_files(gateway, script):
    key = scoped_key(gateway, write=("team",))
    response = gateway.post("/v1/collections/team/documents", headers=auth(key),
                            files=[("files", ("notes.md", b"# Notes\nThe kiln was fired in 1904."))])
    assert response.status_code == 202 and response.json()["state"] == "done"
    assert "The kiln was fired in 1904." in script.last_body["/v1/collections/team/documents"]["upload"]
    empty = gateway.post("/v1/collections/team/documents", headers=auth(key), data={"note": "no files"})
    assert empty.status_code == 422 and "named `files`" in empty.json()["detail"]


def test_feedback_on_an_answer_is_stored_and_read_back_by_admins_only(gateway, script):
    key = scoped_key(gateway, read=("demo",))
    events = read_events(gateway.post("/v1/answer", headers=auth(key), json={"question": "When did Apollo 11 land?"}))
    answer_id = events[-1][1]["answer_id"]
    assert len(answer_id) == 32
    given = gateway.post("/v1/feedback", headers=auth(key),
                         json={"answer_id": answer_id, "rating": "down", "comment": "missing the month"})
    assert given.status_code == 201, given.text
    assert given.json()["question"] == "When did Apollo 11 land?" and "1969" in given.json()["answer"]
    other = scoped_key(gateway, read=("demo",))
    stolen = gateway.post("/v1/feedback", headers=auth(other), json={"answer_id": answer_id, "rating": "up"})
    assert stolen.status_code == 404
    assert gateway.post("/v1/feedback", headers=auth(key), json={"answer_id": answer_id, "rating": "meh"}).status_code == 422
    refused = gateway.get("/v1/feedback", headers=auth(key))
    assert refused.status_code == 403 and "admin scope" in refused.json()["detail"]

    admin = scoped_key(gateway, admin=True)
    page = gateway.get("/v1/feedback", headers=auth(admin)).json()
    assert [(f["answer_id"], f["rating"], f["comment"]) for f in page["feedback"]] == [
        (answer_id, "down", "missing the month")]
    assert page["next_since"] is None
    later = gateway.get("/v1/feedback", headers=auth(admin), params={"since": page["feedback"][0]["id"]}).json()
    assert later["feedback"] == []
    assert gateway.get("/v1/feedback", headers=auth(admin), params={"since": "x; DROP"}).status_code == 422

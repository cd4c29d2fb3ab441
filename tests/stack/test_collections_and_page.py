"""Collections on the real stack: a document ingested with `ninjarag ingest` is answered and cited at
once and hidden from keys that may not read it; the web page, in headless Chromium, streams a cited
answer, opens a citation and records feedback that the API reads back."""

import json
import os
import shutil
import subprocess

import httpx

from ninjarag import keys
from ninjarag.collections_api import GatewayApi
from services.common.paths import REPO_ROOT
from tests.stack.conftest import QUESTION, stack_env


def test_a_just_ingested_document_is_answered_and_cited_and_hidden_from_other_keys(running, tmp_path):
    settings = running[0]
    document = tmp_path / "zorblax.md"
    document.write_text("# Zorblax reactor\n\nThe Zorblax reactor is an experimental fusion reactor in the town of "
                        "Quentia. It was built in 1987 by the engineer Malvina Oduya.\n")
    ingest = subprocess.run([str(REPO_ROOT / "bin" / "ninjarag"), "ingest", "reactors", str(document)],
                            capture_output=True, text=True, env=stack_env(settings), timeout=300)
    assert ingest.returncode == 2 and "collection_not_found" in ingest.stderr  # not created yet
    with GatewayApi.local(settings) as api:
        api.create("reactors", "test")
    ingest = subprocess.run([str(REPO_ROOT / "bin" / "ninjarag"), "ingest", "reactors", str(document)],
                            capture_output=True, text=True, env=stack_env(settings), timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    assert "done: 1 documents indexed, 0 refused, 1 passages in reactors" in ingest.stdout

    key = keys.demo_key(settings)
    with httpx.Client(base_url=settings.gateway_url, headers={"Authorization": f"Bearer {key}"}, timeout=300) as client:
        body = client.post("/v1/answer", json={"question": "Who built the Zorblax reactor?", "collection": "reactors",
                                               "stream": False}).json()
    assert body["sources"][0]["id"] == "zorblax.md#0"
    assert body["citations"] and body["citations"][0]["id"] == "zorblax.md#0", body
    assert "Oduya" in body["answer"]

    outsider, _ = keys.create(settings, "outsider", 60)  # reads demo only
    with httpx.Client(base_url=settings.gateway_url, headers={"Authorization": f"Bearer {outsider}"},
                      timeout=60) as client:
        hidden = client.post("/v1/answer", json={"question": "Who built the Zorblax reactor?",
                                                 "collection": "reactors"})
        assert hidden.status_code == 404 and hidden.json()["type"] == "collection_not_found"
        assert [c["name"] for c in client.get("/v1/collections").json()["collections"]] == ["demo"]


def test_the_web_page_streams_a_cited_answer_opens_a_citation_and_records_feedback(running, tmp_path):
    from playwright.sync_api import sync_playwright

    settings = running[0]
    with GatewayApi.local(settings) as api:
        api.create("markup", "passages that hold HTML")
        document = tmp_path / "markup.jsonl"
        document.write_text(json.dumps({"id": "kiln", "title": "<b>Kiln</b> history", "text": (
            "The Ashworth kiln was first fired in 1904 by the potter Edwin Marr. "
            "<img src=x onerror=\"window.pwned=1\"> <a href=\"https://example.com\">more</a>")}) + "\n")
        api.follow(api.upload("markup", [document]), lambda job: None)
    key, _ = keys.create(settings, "browser", 600, read=("demo", "markup"))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        script_errors: list[str] = []
        page.on("pageerror", lambda error: script_errors.append(str(error)))
        page.goto(f"{settings.gateway_url}/")
        page.fill("#api-key", key)
        page.click("#key-form button[type=submit]")
        page.wait_for_selector("#collection option[value=markup]", state="attached")
        assert page.evaluate("sessionStorage.getItem('ninjarag.apiKey')") == key

        page.select_option("#collection", "demo")
        page.fill("#question", QUESTION)
        page.click("#ask")
        page.wait_for_selector("#answer .sentence", timeout=120_000)  # the first sentence, as it is released
        page.wait_for_selector("#feedback-form:not([hidden])", timeout=120_000)
        assert "2001: A Space Odyssey" in page.inner_text("#sources")
        page.locator("#answer .chip, #sources .chip").first.click()
        assert page.is_visible("#passage") and page.inner_text("#passage-text").strip()
        page.click(".rating[data-rating=up]")
        page.fill("#feedback-comment", "<i>clear</i> and cited")
        page.click("#feedback-send")
        page.wait_for_selector("text=Thank you: feedback recorded.")
        if shot := os.environ.get("NINJARAG_PAGE_SCREENSHOT"):
            page.screenshot(path=shot, full_page=True)
        answer_id = page.evaluate("answerId")

        page.select_option("#collection", "markup")
        page.fill("#question", "When was the Ashworth kiln first fired?")
        page.click("#ask")
        page.wait_for_selector("#feedback-form:not([hidden])", timeout=120_000)
        page.locator("#sources .chip").first.click()
        # Markup from passages is shown as text: no element made from it, no script run, no link.
        assert "<img src=x" in page.inner_text("#passage-text") and "<b>Kiln</b>" in page.inner_text("#passage-title")
        assert page.locator("main img, main a, main b, main i").count() == 0
        assert page.evaluate("window.pwned") is None and script_errors == []
        browser.close()

    with httpx.Client(base_url=settings.gateway_url, timeout=30,
                      headers={"Authorization": f"Bearer {keys.demo_key(settings)}"}) as client:
        records = client.get("/v1/feedback").json()["feedback"]
    mine = [r for r in records if r["answer_id"] == answer_id]
    assert [(r["rating"], r["comment"], r["question"]) for r in mine] == [("up", "<i>clear</i> and cited", QUESTION)]
    export = tmp_path / "feedback.jsonl"
    exported = subprocess.run([str(REPO_ROOT / "bin" / "ninjarag"), "feedback", "export", "--out", str(export)],
                              capture_output=True, text=True, env=stack_env(settings), timeout=120)
    assert exported.returncode == 0, exported.stderr
    assert answer_id in {json.loads(line)["answer_id"] for line in export.read_text().splitlines()}

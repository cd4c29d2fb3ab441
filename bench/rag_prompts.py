"""Real RAG prompts for the generator benchmark: passages from the demo index through the real
retriever, requests of about TARGET_PROMPT_TOKENS prompt tokens, different prompts per concurrency
level, and how the packer's two policies place them in buckets."""

from __future__ import annotations

import os
import statistics
import subprocess
import time

import httpx

from services.common.paths import REPO_ROOT, Home

HOME = Home.from_env()
OUTPUT_TOKENS = 64
TARGET_PROMPT_TOKENS = 1000


def start(command: list[str], env: dict[str, str], ready_url: str, timeout_s: float = 600) -> subprocess.Popen:
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=REPO_ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"{command} exited before it was ready")
        time.sleep(1)
    process.kill()
    raise SystemExit(f"{command} not ready in {timeout_s} s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=60)


def retrieve(questions: list[str]) -> list[list[dict]]:
    """Top-10 passages per question from the demo index, through the real retriever."""
    port = 18901
    retriever = start([str(HOME.venv("retriever") / "bin" / "python"), "-m", "services.retriever"],
                      {"RETRIEVER_PORT": str(port), "RETRIEVER_LOG_LEVEL": "WARNING"}, f"http://127.0.0.1:{port}/readyz")
    try:
        results = []
        for start_at in range(0, len(questions), 32):
            body = {"queries": questions[start_at:start_at + 32], "k": 10, "mode": "hybrid"}
            response = httpx.post(f"http://127.0.0.1:{port}/v1/search/batch", json=body, timeout=120)
            response.raise_for_status()
            results += [[{k: p[k] for k in ("id", "title", "text")} for p in r["passages"]] for r in response.json()["results"]]
        return results
    finally:
        stop(retriever)


def packer_table(questions: list[str], passages: list[list[dict]]) -> dict:
    from services.common.contracts.search import Passage
    from services.generator.model_folder import load_tokenizer
    from services.generator.packing import build_packer
    from services.generator.settings import GeneratorSettings

    settings = GeneratorSettings()
    tokenizer = load_tokenizer(settings.model_path)
    packer = build_packer(settings, tokenizer)
    table = {}
    for policy in ("quality", "latency"):
        buckets: dict[int, int] = {}
        waste, used, tokens = [], [], []
        for question, hits in zip(questions, passages, strict=True):
            packed = packer.pack(question, [Passage(**p) for p in hits], 256, policy)
            buckets[packed.bucket] = buckets.get(packed.bucket, 0) + 1
            waste.append(packed.padding_waste)
            used.append(len(packed.passages))
            tokens.append(packed.prompt_tokens)
        table[policy] = {"buckets": dict(sorted(buckets.items())), "mean_padding_waste": round(statistics.mean(waste), 1),
                         "mean_prompt_tokens": round(statistics.mean(tokens), 1),
                         "mean_passages": round(statistics.mean(used), 2)}
    return table


def rag_requests(questions: list[str], passages: list[list[dict]]) -> list[dict]:
    """Requests whose prompts come to about TARGET_PROMPT_TOKENS tokens (passages trimmed to fit)."""
    requests = []
    for question, hits in zip(questions, passages, strict=True):
        words, chosen = 0, []
        for passage in hits:
            if words >= TARGET_PROMPT_TOKENS * 0.68:  # about 1.3 tokens per word, plus the template
                break
            chosen.append(passage)
            words += len(passage["text"].split())
        requests.append({"question": question, "passages": chosen, "max_tokens": OUTPUT_TOKENS, "temperature": 0.0})
    return requests


def distinct_slices(requests: list[dict], levels: tuple[int, ...]) -> dict[int, list[dict]]:
    """Different prompts for each concurrency level: vLLM's prefix cache would otherwise make a
    prompt seen in an earlier run look fast."""
    slices, start_at = {}, 1  # requests[0] is the warm-up
    for level in levels:
        count = max(16, 2 * level)
        slices[level] = requests[start_at:start_at + count]
        start_at += count
    return slices

"""Production scorers behind the guard's interfaces, served over HTTP:

- `LlamaGuardSafety`: a Llama Guard 3 model behind an OpenAI-compatible chat endpoint (e.g.
  `vllm serve meta-llama/Llama-Guard-3-8B`). Its chat template builds the classification prompt
  with the S1-S14 taxonomy; it answers `safe`, or `unsafe` and a line of categories (`S1,S10`).
- `HttpNliSupport`: an NLI / hallucination model (e.g. HHEM, MiniCheck) behind
  `POST {url}` `{"pairs": [{"premise", "hypothesis"}]}` -> `{"scores": [0..1]}`, the probability
  that the premise supports the hypothesis.
"""

from __future__ import annotations

import httpx

from services.common.errors import UpstreamError
from services.guard.support import Pair, Support, is_short_claim

LLAMA_GUARD_CATEGORIES = {
    "S1": "violent crimes", "S2": "non-violent crimes", "S3": "sex-related crimes", "S4": "child sexual exploitation",
    "S5": "defamation", "S6": "specialized advice", "S7": "privacy", "S8": "intellectual property",
    "S9": "indiscriminate weapons", "S10": "hate", "S11": "suicide and self-harm", "S12": "sexual content",
    "S13": "elections", "S14": "code interpreter abuse",
}


class LlamaGuardSafety:
    def __init__(self, url: str, model: str, timeout_s: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.model = model
        self._client = httpx.AsyncClient(base_url=url, timeout=timeout_s, transport=transport)

    async def classify(self, text: str, role: str = "user") -> tuple[bool, list[str]]:
        """(safe, categories). `role` is who wrote the text: the user (input) or the agent (output)."""
        messages = [{"role": "user", "content": text}] if role == "user" else [
            {"role": "user", "content": "(question)"}, {"role": "assistant", "content": text}]
        try:
            response = await self._client.post("/v1/chat/completions", json={
                "model": self.model, "messages": messages, "max_tokens": 20, "temperature": 0})
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise UpstreamError(f"Llama Guard endpoint failed: {type(exc).__name__}: {exc}") from exc
        lines = response.json()["choices"][0]["message"]["content"].strip().splitlines()
        if not lines or lines[0].strip() not in {"safe", "unsafe"}:
            raise UpstreamError(f"Llama Guard answered in an unknown format: {lines[:2]!r}")
        if lines[0].strip() == "safe":
            return True, []
        codes = [code.strip() for code in lines[1].split(",")] if len(lines) > 1 else []
        return False, [f"{code} {LLAMA_GUARD_CATEGORIES.get(code, 'unknown')}" for code in codes]

    async def aclose(self) -> None:
        await self._client.aclose()


class HttpNliSupport:
    def __init__(self, url: str, timeout_s: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._url = url
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def score(self, claims: list[str], passages: list[str], pairs: list[Pair], question: str = "",
                    floor: float | None = None) -> list[Support]:
        """A short claim ("1937.") is judged as the answer to the question: the hypothesis says what was asked.
        Every pair is scored: the model has no cheaper bound to stop at `floor` with."""
        hypotheses = [f"{question} {claim}" if question.strip() and is_short_claim(claim) else claim for claim in claims]
        body = {"pairs": [{"premise": "\n".join(passages[i] for i in ids), "hypothesis": hypotheses[c]}
                          for c, ids in pairs]}
        try:
            response = await self._client.post(self._url, json=body)
            response.raise_for_status()
            scores = response.json()["scores"]
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise UpstreamError(f"NLI endpoint failed: {type(exc).__name__}: {exc}") from exc
        if len(scores) != len(pairs):
            raise UpstreamError(f"NLI endpoint returned {len(scores)} scores for {len(pairs)} pairs")
        return [Support(round(float(score), 4)) for score in scores]

    async def aclose(self) -> None:
        await self._client.aclose()

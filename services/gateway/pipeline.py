"""One answer: input guard -> cache -> retrieve -> screen passages -> generate (streamed) -> split into
sentences -> output guard per sentence -> answer policy (keep, correct or drop; policy.py) -> citations
-> cache. Yields the answer events;
every run ends with exactly one terminal event (`done` or `error`)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from pydantic import TypeAdapter

from services.common.contracts.answer import (
    AnswerEvent,
    AnswerRequest,
    CitationsEvent,
    DoneEvent,
    ErrorEvent,
    SentenceEvent,
    Source,
    SourcesEvent,
    TokenCounts,
)
from services.common.contracts.generate import GenerateDone, GenerateRequest, TokenEvent
from services.common.contracts.guard import (
    InputGuardRequest,
    InputVerdict,
    OutputGuardRequest,
    OutputVerdict,
    PassageScreenRequest,
    PassageScreenResult,
)
from services.common.contracts.search import Passage, SearchRequest, SearchResult
from services.common.errors import NinjaragError, UnknownPassageSet, UpstreamError
from services.common.http import ServiceClient
from services.common.sentences import SentenceStream, citations_in
from services.gateway.answer_run import AnswerRun
from services.gateway.cache import AnswerCache, VerdictCache, cache_key
from services.gateway.markup import inert_markup
from services.gateway.metrics import ANSWERS, GUARD_ACTIONS, STAGE_LATENCY, TIME_TO_FIRST_SENTENCE
from services.gateway.policy import AnswerPolicy, Release
from services.gateway.settings import GatewaySettings
from services.gateway.variants import Variant
from services.gateway.versions import Versions

log = logging.getLogger(__name__)
EVENT = TypeAdapter(AnswerEvent)
CACHE_STORE_LIMIT_S = 1.0


@dataclass
class Upstreams:
    retriever: ServiceClient
    generator: ServiceClient
    guard: ServiceClient
    # What the variants' generator clients are made with (tests answer them in-process).
    transport: httpx.AsyncBaseTransport | None = None

    async def aclose(self) -> None:
        for client in (self.retriever, self.generator, self.guard):
            await client.aclose()


class AnswerPipeline:
    def __init__(self, settings: GatewaySettings, upstreams: Upstreams, cache: AnswerCache, versions: Versions) -> None:
        self.settings = settings
        self.policy = AnswerPolicy(settings.policy)
        self.up = upstreams
        self.cache = cache
        self.versions = versions
        self.verdicts = VerdictCache()

    async def run(self, request: AnswerRequest, variant: Variant, read_cache: bool = True) -> AsyncIterator[AnswerEvent]:
        """`read_cache=False` (the client sent `Cache-Control: no-cache`) answers afresh and stores it."""
        run = AnswerRun(deadline_s=self.settings.request_deadline_s, variant=variant)
        outcome = "error"
        try:
            async for event in self._answer(request, run, read_cache):
                if isinstance(event, DoneEvent):
                    outcome = event.verdict
                yield event
        except NinjaragError as exc:
            outcome = exc.type
            yield ErrorEvent(type=exc.type, message=exc.detail)
        except Exception:  # noqa: BLE001 - the client still gets its one terminal event
            log.exception("answer failed")
            outcome = "internal_error"
            yield ErrorEvent(type="internal_error", message="unexpected error; see the gateway log")
        finally:
            ANSWERS.labels(outcome).inc()

    async def _answer(self, request: AnswerRequest, run: AnswerRun, read_cache: bool) -> AsyncIterator[AnswerEvent]:
        if request.guard and not (verdict := await self._input_verdict(request.question, run)).allowed:
            log.info("question refused: %s", verdict.reason)
            async for event in self._refusal(run, self.settings.policy.unsafe_refusal_text, sources=[]):
                yield event
            return

        retrieval = request.retrieval or self.settings.search_mode
        collection = request.collection or self.settings.default_collection
        index_version, model = await run.stage("versions", self.versions.current(collection, run.variant))
        key = None
        if "unknown" not in (index_version, model):
            key = cache_key(request.question, {
                "top_k": request.top_k, "max_tokens": request.max_tokens, "retrieval": retrieval, "guard": request.guard,
                "collection": collection, "filters": json.dumps(request.filters, sort_keys=True),
                "variant": run.variant.name,
                "index_version": index_version, "model": model, "packing": self.settings.packing,
                "policy": self.settings.policy.fingerprint()})
            cached = await run.stage("cache", self.cache.get(key)) if read_cache else None
            if cached:
                for event in self._replay(cached, run):
                    yield event
                return

        passages = await self._retrieve(
            SearchRequest(query=request.question, k=request.top_k, mode=retrieval if retrieval != "none" else "hybrid",
                          collection=collection, filters=request.filters), retrieval == "none", run)
        if request.guard:
            passages = await self._screen(passages, run)
        sources = [Source(n=n, id=p.id, title=p.title, text=p.text, score=p.score) for n, p in enumerate(passages, 1)]
        events: list[AnswerEvent] = [SourcesEvent(sources=sources)]
        yield events[0]

        async for event in self._generate_guarded(request, passages, run):
            events.append(event)
            yield event
        ending = await self._finish(request, passages, run, sources)
        if key:  # stored before `done` goes out: nothing may follow the terminal event
            await self._store(key, [*events, *ending], run)
        for event in ending:
            yield event

    async def _store(self, key: str, events: list[AnswerEvent], run: AnswerRun) -> None:
        """Best effort within CACHE_STORE_LIMIT_S: an answer that cannot be cached is still a good answer."""
        try:
            await run.stage("cache_store", self.cache.put(key, [e.model_dump(mode="json") for e in events]),
                            CACHE_STORE_LIMIT_S)
        except NinjaragError as exc:
            log.warning("answer not cached: %s", exc.detail)

    async def _input_verdict(self, question: str, run: AnswerRun) -> InputVerdict:
        verdict = self.verdicts.get(question)
        if verdict is None:
            verdict = await run.stage("input_guard", self.up.guard.post_json(
                "/v1/guard/input", InputGuardRequest(question=question), InputVerdict, idempotent=True),
                self.settings.guard_timeout_s)
            self.verdicts.put(question, verdict)
        return verdict

    async def _retrieve(self, search: SearchRequest, closed_book: bool, run: AnswerRun) -> list[Passage]:
        if closed_book:  # the generator answers from the model's own knowledge
            return []
        result: SearchResult = await run.stage("retrieve", self.up.retriever.post_json(
            "/v1/search", search, SearchResult, idempotent=True),
            self.settings.search_timeout_s)
        return result.passages

    async def _screen(self, passages: list[Passage], run: AnswerRun) -> list[Passage]:
        if not passages:
            return []
        screened: PassageScreenResult = await run.stage("screen", self.up.guard.post_json(
            "/v1/guard/passages", PassageScreenRequest(passages=passages), PassageScreenResult, idempotent=True),
            self.settings.screen_timeout_s)
        run.passage_set = screened.passage_set
        flagged = {item.id for item in screened.flagged}
        if flagged:
            log.warning("dropped %d passages that carry instructions: %s", len(flagged), sorted(flagged))
        return [p for p in passages if p.id not in flagged]

    async def _generate_guarded(self, request: AnswerRequest, passages: list[Passage], run: AnswerRun
                                ) -> AsyncIterator[SentenceEvent]:
        splitter = SentenceStream()
        body = GenerateRequest(question=request.question, passages=passages, max_tokens=request.max_tokens,
                               packing=self.settings.packing)
        generation_started = time.perf_counter()
        guard_before = run.timings.get("output_guard", 0.0)
        done: GenerateDone | None = None
        stream = run.variant.client.stream_events("/v1/generate", body)
        limit_s = self.settings.generate_timeout_s
        try:
            while True:
                left_s = limit_s - (time.perf_counter() - generation_started)
                try:
                    name, data = await run.bounded(anext(stream), max(0.0, left_s), "generator")
                except StopAsyncIteration:
                    break
                if name == "token":
                    for sentence in splitter.feed(TokenEvent.model_validate(data).text):
                        if event := await self._release(request, passages, sentence, run):
                            yield event
                elif name == "done":
                    done = GenerateDone.model_validate(data)
        finally:
            await stream.aclose()
        if done is None:
            raise UpstreamError("the generator ended its stream without a final event")
        # Time waiting on the generator only: the guard calls made meanwhile count as output_guard.
        waited = (time.perf_counter() - generation_started) * 1000 - (run.timings.get("output_guard", 0.0) - guard_before)
        run.timings["generate"] = round(waited, 2)
        STAGE_LATENCY.labels("generate").observe(waited / 1000)
        run.timings["generate_ttft"] = done.ttft_ms
        run.tokens = TokenCounts(prompt=done.usage.prompt_tokens, completion=done.usage.completion_tokens)
        for sentence in splitter.flush():
            if event := await self._release(request, passages, sentence, run):
                yield event

    async def _release(self, request: AnswerRequest, passages: list[Passage], sentence: str, run: AnswerRun
                       ) -> SentenceEvent | None:
        """The sentence as the user will see it (as written or corrected), or None when it is held back."""
        if not request.guard:
            cited = [n for n in citations_in(sentence) if 1 <= n <= len(passages)]
            return self._released(run, self.policy.unguarded(sentence, cited))
        checked = await run.stage("output_guard", self._check_sentence(request.question, [sentence], passages, run),
                                  self.settings.guard_timeout_s)
        release = self.policy.judge(checked.sentences[0], len(passages), [e.text for e in run.released])
        GUARD_ACTIONS.labels(release.action if release else "drop").inc()
        if release is None:
            run.dropped += 1
            return None
        return self._released(run, release)

    async def _check_sentence(self, question: str, sentences: list[str], passages: list[Passage], run: AnswerRun,
                              with_best_quote: bool = False) -> OutputVerdict:
        """By the screened set's id when there is one; with the passages when the guard does not hold
        it (restarted, or another replica), and from then on for this answer."""
        asked = {"question": question, "sentences": sentences, "with_best_quote": with_best_quote,
                 "propose_corrections": self.settings.policy.corrections}  # keep-or-drop needs no proposals
        if run.passage_set:
            try:
                return await self.up.guard.post_json("/v1/guard/output", OutputGuardRequest(
                    **asked, passage_set=run.passage_set), OutputVerdict, idempotent=True)
            except UnknownPassageSet:
                run.passage_set = None
        return await self.up.guard.post_json("/v1/guard/output", OutputGuardRequest(**asked, passages=passages),
                                             OutputVerdict, idempotent=True)

    def _released(self, run: AnswerRun, release: Release) -> SentenceEvent:
        event = SentenceEvent(index=len(run.released), text=inert_markup(release.text), citations=release.citations,
                              action=release.action)
        if release.action != "keep":
            run.corrected += 1
        if not run.released:
            TIME_TO_FIRST_SENTENCE.observe(time.perf_counter() - run.started)
            run.timings["first_sentence"] = round((time.perf_counter() - run.started) * 1000, 2)
        run.released.append(event)
        return event

    async def _finish(self, request: AnswerRequest, passages: list[Passage], run: AnswerRun, sources: list[Source]
                      ) -> list[AnswerEvent]:
        """The answer's last events: an extractive answer when no sentence survived (and a passage is
        relevant), else the refusal; then its citations and `done`."""
        ending: list[AnswerEvent] = []
        if not run.released and request.guard and passages and self.settings.policy.corrections:
            extract = await run.stage("output_guard", self._check_sentence(
                request.question, [], passages, run, with_best_quote=True), self.settings.guard_timeout_s)
            if release := self.policy.closing(extract.best_quote):
                GUARD_ACTIONS.labels("extractive").inc()
                ending.append(self._released(run, release))
        if not run.released:
            refusal = SentenceEvent(index=0, text=self.settings.policy.refusal_text, citations=[])
            return [refusal, CitationsEvent(citations=[]), self._done(run, "refuse")]
        cited = sorted({n for event in run.released for n in event.citations})
        verdict = "partial" if run.dropped or run.corrected else "ok"
        return [*ending, CitationsEvent(citations=[sources[n - 1] for n in cited]), self._done(run, verdict)]

    def _done(self, run: AnswerRun, verdict: str, cache_hit: bool = False) -> DoneEvent:
        run.timings["total"] = round((time.perf_counter() - run.started) * 1000, 2)
        return DoneEvent(answer_id=run.answer_id, variant=run.variant.name, verdict=verdict, timings_ms=run.timings, tokens=run.tokens,
                         cache_hit=cache_hit, dropped=run.dropped, corrected=run.corrected)

    async def _refusal(self, run: AnswerRun, text: str, sources: list[Source]) -> AsyncIterator[AnswerEvent]:
        yield SourcesEvent(sources=sources)
        yield SentenceEvent(index=0, text=text, citations=[])
        yield CitationsEvent(citations=[])
        yield self._done(run, "refuse")

    def _replay(self, cached: list[dict], run: AnswerRun) -> list[AnswerEvent]:
        events = [EVENT.validate_python(item) for item in cached]
        done = events[-1]
        run.tokens, run.dropped, run.corrected = done.tokens, done.dropped, done.corrected
        return [*events[:-1], self._done(run, done.verdict, cache_hit=True)]

"""The gateway's HTTP routes: check the request, take the admission, hand the answer to the
serving class, render it as /v1/answer events or OpenAI chat completions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.common.contracts.answer import AnswerRequest, AnswerResponse, CitationsEvent, SentenceEvent
from services.common.errors import Forbidden, InvalidRequest, NotFound
from services.gateway import openai_compat
from services.gateway.access import require_admin, require_read
from services.gateway.deps import Gateway, Key
from services.gateway.serving import answer_document
from services.gateway.variant_records import VariantReport
from services.gateway.variants import STICKY_HEADER

router = APIRouter(prefix="/v1")


@router.post("/answer", response_model=AnswerResponse,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "sources, sentence*, citations, then done or error"}})
async def answer(body: AnswerRequest, request: Request, gateway: Gateway, key: Key):  # noqa: ANN201 - a stream or JSON
    if not body.guard and not gateway.settings.allow_unguarded:
        raise Forbidden("guard: false is allowed only where the gateway runs with GATEWAY_ALLOW_UNGUARDED=true "
                        "(evaluation stacks, never production); drop the field to get a guarded answer")
    gateway.gatekeeper.check_request_size(body.top_k, body.max_tokens)
    require_read(key, body.collection or gateway.settings.default_collection)
    variant = gateway.variants.pick(key.key_id, request.headers.get(STICKY_HEADER), body.model)
    read_cache = "no-cache" not in request.headers.get("cache-control", "").lower()
    admission = await gateway.gatekeeper.admit(key)  # before the response starts: a refusal is still a plain 429/503
    if body.stream:
        return gateway.stream(body, admission, variant,
                              lambda event: [{"event": event.event, "data": event.model_dump_json()}], read_cache)
    return answer_document(await gateway.collect(request, body, admission, variant, read_cache))


@router.post("/chat/completions")
async def chat_completions(body: openai_compat.ChatCompletionRequest, http_request: Request, gateway: Gateway,
                           key: Key):  # noqa: ANN201 - a stream or JSON
    try:
        request = AnswerRequest(question=body.question(), max_tokens=body.max_tokens or 256, collection=body.collection)
    except ValueError as exc:
        raise InvalidRequest(str(exc).splitlines()[-1] if "validation" in str(exc) else str(exc)) from None
    gateway.gatekeeper.check_request_size(request.top_k, request.max_tokens)
    require_read(key, request.collection or gateway.settings.default_collection)
    variant = gateway.variants.pick(key.key_id, http_request.headers.get(STICKY_HEADER), body.model)
    admission = await gateway.gatekeeper.admit(key)
    chat_id = openai_compat.completion_id()
    if body.stream:
        return gateway.stream(request, admission, variant, openai_compat.ChatStream(chat_id, body.model).render)
    events = await gateway.collect(http_request, request, admission, variant)
    sentences = [e for e in events if isinstance(e, SentenceEvent)]
    citations = next((e for e in events if isinstance(e, CitationsEvent)), None)
    return openai_compat.completion(chat_id, body.model, sentences, citations, events[-1])


@router.get("/models", response_model=openai_compat.ModelList)
async def models(gateway: Gateway, key: Key) -> openai_compat.ModelList:
    """OpenAI's model list: what `model` in /v1/chat/completions may name."""
    return openai_compat.ModelList(data=openai_compat.served_models([v.name for v in gateway.variants.live]))


@router.get("/models/{model_id}", response_model=openai_compat.ModelCard)
async def model(model_id: str, gateway: Gateway, key: Key) -> openai_compat.ModelCard:
    cards = openai_compat.served_models([v.name for v in gateway.variants.live])
    found = next((card for card in cards if card.id == model_id), None)
    if found is None:
        raise NotFound(f"no model {model_id[:100]!r} here; GET /v1/models lists the models this gateway serves")
    return found


@router.get("/variants/report", response_model=VariantReport)
async def variants_report(gateway: Gateway, key: Key,
                          last: Annotated[int, Query(ge=1, le=100_000)] = 10_000) -> VariantReport:
    """The last `last` fresh answers by variant (live and shadow), each metric with its 95% interval."""
    require_admin(key, "the variant report")
    return await gateway.variant_records.report(last)

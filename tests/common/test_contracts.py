import pytest
from pydantic import TypeAdapter, ValidationError

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
from services.common.contracts.generate import GenerateDone, GenerateEvent, GenerateRequest, TokenEvent, Usage
from services.common.contracts.guard import (
    CategoryScore,
    InputVerdict,
    OutputGuardRequest,
    OutputVerdict,
    Quote,
    SentenceVerdict,
    Trim,
)
from services.common.contracts.search import (
    BatchSearchRequest,
    Passage,
    RerankRequest,
    SearchRequest,
    SearchResult,
)

PASSAGE = Passage(id="wiki-1-0", title="Apollo 11", text="Apollo 11 landed on the Moon in 1969.", score=12.5)
SOURCE = Source(n=1, id="wiki-1-0", title="Apollo 11", text="Apollo 11 landed on the Moon in 1969.", score=1.0)

ROUND_TRIPS = [
    SearchRequest(query="When did Apollo 11 land?", k=5, mode="bm25"),
    BatchSearchRequest(queries=["a?", "b?"], k=3, mode="plaid"),
    SearchResult(passages=[PASSAGE], index_version="abc", timings_ms={"total": 3.2}),
    RerankRequest(query="When?", passages=[PASSAGE]),
    GenerateRequest(question="When?", passages=[PASSAGE], max_tokens=64, packing="latency"),
    OutputGuardRequest(question="When?", sentences=["It landed in 1969 [1]."], passages=[PASSAGE]),
    InputVerdict(allowed=True, categories=[CategoryScore(name="toxicity", score=0.01, flagged=False)], reason="ok"),
    OutputVerdict(
        sentences=[
            SentenceVerdict(index=0, text="It landed in 1969 [1].", citations_found=[1], citations_valid=True,
                            support_score=0.9, supported=True, safe=True),
            SentenceVerdict(index=1, text="It landed in 1972, on Mars [1].", citations_found=[1], citations_valid=True,
                            support_score=0.1, supported=False, safe=True,
                            trimmed=Trim(text="It landed [1].", citations=[1], support_score=0.7),
                            quote=Quote(passage=1, text="Apollo 11 landed on the Moon in 1969.", relevance=0.8)),
        ],
        best_quote=Quote(passage=1, text="Apollo 11 landed on the Moon in 1969.", relevance=0.8),
    ),
    AnswerRequest(question="When did Apollo 11 land?", top_k=10, stream=False),
]


@pytest.mark.parametrize("model", ROUND_TRIPS, ids=lambda m: type(m).__name__)
def test_contracts_round_trip_through_json(model):
    assert type(model).model_validate_json(model.model_dump_json()) == model


def test_answer_events_parse_by_their_event_field():
    adapter = TypeAdapter(AnswerEvent)
    events = [
        SourcesEvent(sources=[SOURCE]),
        SentenceEvent(index=0, text="It landed in 1969 [1].", citations=[1]),
        CitationsEvent(citations=[SOURCE]),
        DoneEvent(verdict="ok", timings_ms={"retrieve": 12.0}, tokens=TokenCounts(prompt=300, completion=20), cache_hit=False),
        ErrorEvent(type="upstream_timeout", message="generator did not answer in time"),
    ]
    for event in events:
        assert adapter.validate_json(event.model_dump_json()) == event


def test_generate_events_parse_by_their_event_field():
    adapter = TypeAdapter(GenerateEvent)
    usage = Usage(prompt_tokens=200, completion_tokens=5, bucket=256, padding_waste=56, passages_used=["a"])
    done = GenerateDone(usage=usage, finish_reason="stop", ttft_ms=80.0, total_ms=300.0, model="smollm2")
    assert adapter.validate_json(TokenEvent(index=0, text="Hi").model_dump_json()) == TokenEvent(index=0, text="Hi")
    assert adapter.validate_json(done.model_dump_json()) == done


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"question": ""}, "question", "at least 1 character"),
        ({"question": "   "}, "question", "must not be empty"),
        ({"question": "hi\x00there"}, "question", "control characters"),
        ({"question": "x" * 2001}, "question", "at most 2000"),
        ({"question": "ok", "top_k": 0}, "top_k", "greater than or equal to 1"),
        ({"question": "ok", "top_k": 101}, "top_k", "less than or equal to 100"),
        ({"question": "ok", "max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
        ({"question": "ok", "topk": 3}, "topk", "Extra inputs are not permitted"),
        ({"question": 42}, "question", "valid string"),
    ],
)
def test_answer_request_rejects_bad_input_with_a_clear_message(payload, field, fragment):
    with pytest.raises(ValidationError) as info:
        AnswerRequest.model_validate(payload)
    error = info.value.errors()[0]
    assert error["loc"][0] == field
    assert fragment in error["msg"]


def test_output_guard_request_needs_exactly_one_of_sentences_or_answer():
    for extra in ({}, {"sentences": ["a"], "answer": "a"}):
        with pytest.raises(ValidationError, match="exactly one of 'sentences'"):
            OutputGuardRequest(question="q", passages=[PASSAGE], **extra)


def test_passage_needs_an_id_and_text():
    with pytest.raises(ValidationError):
        Passage(id="", title="t", text="x")
    with pytest.raises(ValidationError):
        Passage(id="a", title="t", text="")


@pytest.mark.parametrize(
    "payload",
    [
        {"query": "q", "k": 0},
        {"query": "q", "k": 1000},
        {"query": "q", "mode": "dense"},
        {"query": "x" * 100_000},
    ],
)
def test_search_request_bounds(payload):
    with pytest.raises(ValidationError):
        SearchRequest.model_validate(payload)


def test_batch_search_needs_one_to_64_queries():
    with pytest.raises(ValidationError):
        BatchSearchRequest(queries=[])
    with pytest.raises(ValidationError):
        BatchSearchRequest(queries=["q"] * 65)


def test_generate_request_bounds():
    with pytest.raises(ValidationError):
        GenerateRequest(question="q", temperature=3.0)
    with pytest.raises(ValidationError):
        GenerateRequest(question="q", packing="fastest")


@pytest.mark.parametrize("body", [
    {"query": "q", "k": True},  # a boolean is not a number
    {"query": "q", "k": "5"},  # nor is a string of digits
    {"query": 5},
])
def test_request_contracts_take_json_types_as_declared(body):
    from services.common.contracts.search import SearchRequest

    with pytest.raises(ValueError):
        SearchRequest.model_validate(body)


def test_a_passage_score_must_be_a_number():
    from services.common.contracts.search import Passage

    with pytest.raises(ValueError):
        Passage.model_validate({"id": "0", "title": "", "text": "0", "score": False})
    assert Passage.model_validate({"id": "0", "title": "", "text": "0", "score": 2}).score == 2.0

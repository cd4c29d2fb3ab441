"""The evaluation harness's parts on hand-made cases: ALCE citation scores, record scoring, the
summary, question files and resuming. The harness against the real stack: tests/stack."""

import json

import pytest

from ninjarag.client import GatewayAnswer
from ninjarag.errors import UserError
from ninjarag.eval.citations import citation_scores, evidence_needed
from ninjarag.eval.dataset import EvalQuestion, load_questions
from ninjarag.eval.metrics import answer_rank, percentile
from ninjarag.eval.records import RecordStore, score
from ninjarag.eval.summary import markdown_table, summarize
from ninjarag.eval.systems import SYSTEMS, select_systems
from services.common.contracts.answer import DoneEvent, SentenceEvent, Source, TokenCounts

PARIS = EvalQuestion("q1", "What is the capital of France?", ["Paris"])
SOURCES = [Source(n=1, id="rome", title="Rome", text="Rome is in Italy."),
           Source(n=2, id="paris", title="France", text="Paris is the capital of France.")]


def judged(citations, supported_sets):
    """Judgements where exactly the listed (sentence, passages) sets support their sentence."""
    return {pair: pair in supported_sets for pair in evidence_needed(citations)}


def test_alce_recall_counts_sentences_whose_citations_support_them():
    citations = [[1], [2], []]
    scores = citation_scores(citations, judged(citations, {(0, (1,))}))
    assert scores.recall == pytest.approx(1 / 3)  # supported, unsupported, uncited
    assert scores.precision == pytest.approx(1 / 2) and scores.citations == 2


def test_alce_precision_drops_a_citation_the_others_do_not_need():
    citations = [[1, 2]]
    # [1] alone supports it; [2] alone does not, and without [2] the rest still does: [2] is irrelevant.
    scores = citation_scores(citations, judged(citations, {(0, (1, 2)), (0, (1,))}))
    assert scores.recall == 1.0 and scores.precision == 0.5


def test_alce_precision_keeps_citations_that_only_support_together():
    citations = [[1, 2]]
    scores = citation_scores(citations, judged(citations, {(0, (1, 2))}))
    assert scores.recall == 1.0 and scores.precision == 1.0


def test_alce_unsupported_joint_citations_count_for_nothing():
    citations = [[1, 2]]
    scores = citation_scores(citations, judged(citations, {(0, (1,))}))
    assert scores.recall == 0.0 and scores.precision == 0.0


def test_evidence_needed_has_no_repeats_and_skips_uncited_sentences():
    assert evidence_needed([[2, 2], [], [3]]) == [(0, (2,)), (2, (3,))]


def answer(text, verdict="ok", citations=(2,), sources=SOURCES, dropped=0):
    done = DoneEvent(verdict=verdict, timings_ms={}, tokens=TokenCounts(prompt=0, completion=0), cache_hit=False,
                     dropped=dropped)
    return GatewayAnswer(sources=list(sources), sentences=[SentenceEvent(index=0, text=text, citations=list(citations))],
                         done=done, first_sentence_ms=100.0, total_ms=300.0)


def test_a_record_scores_the_answer_without_its_citation_markers():
    record = score(SYSTEMS["hybrid"], EvalQuestion("q", "How many?", ["1"]), answer("There are two [1]."), None)
    assert record.accuracy == 0.0  # "[1]" is a citation, not the answer "1"
    record = score(SYSTEMS["hybrid"], PARIS, answer("Paris is the capital [2]."), None)
    assert (record.accuracy, record.exact_match, record.answer_rank, record.retrievable) == (1.0, 0.0, 2, True)
    assert record.recall == {1: 0.0, 5: 1.0, 10: 1.0} and record.passage_ids == ["rome", "paris"]


def test_a_refusal_scores_zero_even_when_the_refusal_text_matches():
    question = EvalQuestion("q", "Which text?", ["sources"])
    record = score(SYSTEMS["hybrid+guard"], question, answer("I could not find this in the sources.", "refuse"), None)
    assert record.refused and record.accuracy == record.f1 == 0.0


def test_closed_book_records_have_no_recall():
    record = score(SYSTEMS["closed-book"], PARIS, answer("Paris.", sources=[], citations=()), None)
    assert record.recall is None and record.retrievable is None and record.accuracy == 1.0


def test_summary_aggregates_and_splits_by_retrievability():
    rows = [
        score(SYSTEMS["hybrid"], PARIS, answer("Paris [2]."), None),
        score(SYSTEMS["hybrid"], EvalQuestion("q2", "Capital of Spain?", ["Madrid"]), answer("Rome [1]."), None),
        score(SYSTEMS["hybrid"], EvalQuestion("q3", "Capital of Italy?", ["Rome"]), answer("Rome [1].", dropped=1), None),
    ]
    failed = GatewayAnswer(error_type="upstream_timeout", error="slow", total_ms=5.0)
    rows.append(score(SYSTEMS["hybrid"], EvalQuestion("q4", "?", ["x"]), failed, None))
    summary = summarize(rows)["hybrid"]
    assert summary["questions"] == 4 and summary["answered"] == 3 and summary["errors"] == {"upstream_timeout": 1}
    assert summary["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["accuracy_when_retrievable"] == 1.0 and summary["accuracy_when_not_retrievable"] == 0.0
    assert summary["recall"] == {1: pytest.approx(1 / 3, abs=1e-4), 5: pytest.approx(2 / 3, abs=1e-4), 10: pytest.approx(2 / 3, abs=1e-4)}
    assert summary["dropped_sentence_share"] == 0.25  # 1 dropped of 4 generated
    assert summary["total_ms"] == {"p50": 300.0, "p95": 300.0}
    table = markdown_table({"hybrid": summary})
    assert "| hybrid | 3 | 66.7 |" in table and "upstream_timeout 1" in table


def test_percentile_is_nearest_rank():
    assert percentile([5, 1, 3, 2, 4], 50) == 3 and percentile([1, 2], 95) == 2
    assert answer_rank(["a", "b Paris"], ["paris"]) == 2 and answer_rank([], ["x"]) == 0


def test_question_files_say_which_line_is_wrong(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "a?", "answers": ["x"]}\n{"question": "b?", "answers": "x"}\n')
    with pytest.raises(UserError, match=r"q.jsonl:2: needs `answers`, a non-empty list"):
        load_questions(path)
    path.write_text('{"question": "a?", "answers": ["x"]}\nnot json\n')
    with pytest.raises(UserError, match=r"q.jsonl:2: not JSON"):
        load_questions(path)
    assert [q.question for q in load_questions(path, limit=1)] == ["a?"]
    with pytest.raises(UserError, match="no question file"):
        load_questions(tmp_path / "missing.jsonl")


def test_question_ids_are_stable_without_an_id(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "a?", "answers": ["x"]}\n{"id": "mine", "question": "b?", "answers": ["y"]}\n')
    first, second = load_questions(path)
    assert first.id == load_questions(path)[0].id and second.id == "mine"


def test_the_store_resumes_past_a_line_cut_off_by_an_interruption(tmp_path):
    store = RecordStore(tmp_path / "records.jsonl")
    record = score(SYSTEMS["bm25"], PARIS, answer("Paris [2]."), None)
    store.append(record)
    with store.path.open("a") as out:
        out.write(json.dumps(record.model_dump(mode="json"))[:50])
    assert [r.key for r in store.load()] == [("bm25", "q1")]


def test_unknown_systems_are_named():
    with pytest.raises(UserError, match="no system nope; systems: closed-book, bm25"):
        select_systems(["bm25", "nope"])


def test_answer_citation_precision_is_the_rule_that_the_cited_passage_holds_the_answer():
    assert score(SYSTEMS["hybrid"], PARIS, answer("Paris [2]."), None).answer_citation_precision == 1.0
    assert score(SYSTEMS["hybrid"], PARIS, answer("Paris [1].", citations=(1,)), None).answer_citation_precision == 0.0
    assert score(SYSTEMS["hybrid"], PARIS, answer("Rome [1].", citations=(1,)), None).answer_citation_precision is None
    refused = score(SYSTEMS["hybrid"], PARIS, answer("Paris [2].", verdict="refuse"), None)
    assert refused.answer_citation_precision is None


def test_a_sentence_said_again_counts_as_repeated():
    said_twice = answer("Paris [2].")
    said_twice.sentences.append(SentenceEvent(index=1, text="Paris. [2]", citations=[2]))
    said_twice.sentences.append(SentenceEvent(index=2, text="It is in France [2].", citations=[2]))
    record = score(SYSTEMS["hybrid"], PARIS, said_twice, None)
    assert record.repeated == 1
    assert summarize([record])["hybrid"]["repeated_sentence_share"] == pytest.approx(1 / 3, abs=1e-4)

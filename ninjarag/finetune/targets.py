"""Training targets by distant supervision: one short sentence in the passage's own words, ending
with its citation, or the refusal sentence. Copying is what a small reader does best, and what the
guard can verify. Linear in the passage text (sentence splitting and substring search only)."""

from __future__ import annotations

from services.common.answer_match import contains_answer, normalize_answer
from services.common.sentences import split_sentences

CLAUSE_ENDS = (", ", "; ", " - ", " -- ", ": ")
# Sentence openers that are not names: lowercased after "Yes, " / "No, ".
COMMON_OPENERS = frozenset("the a an it its this these those there in on at as for he she they his her their "
                           "some most many all although though after before during since when while one".split())


def cited(sentence: str, n: int) -> str:
    """`Paris is the capital of France [1].`: the citation before the final full stop, as the prompt shows."""
    body = sentence.strip().rstrip(".!?;:,").rstrip()
    return f"{body} [{n}]."


def shorten(sentence: str, keep: str, max_words: int) -> str | None:
    """The sentence, or its start up to the end of the clause that holds `keep` when it is longer
    than max_words; None when even that is too long."""
    if len(sentence.split()) <= max_words:
        return sentence
    at = sentence.lower().find(keep.lower())
    if at < 0:
        return None
    after = at + len(keep)
    ends = [i for i in (sentence.find(mark, after) for mark in CLAUSE_ENDS) if i >= 0]
    cut = sentence[: min(ends)] if ends else sentence
    return cut if len(cut.split()) <= max_words else None


def answer_sentence(passages: list[str], answers: list[str], max_words: int) -> tuple[int, str] | None:
    """(passage number, sentence) for the first passage, in prompt order, with a sentence that holds an
    accepted answer and is short enough (shortest such sentence in that passage)."""
    for n, text in enumerate(passages, start=1):
        candidates = []
        for sentence in split_sentences(text):
            matched = next((a for a in answers if contains_answer(sentence, [a])), None)
            if matched is None:
                continue
            short = shorten(sentence, matched, max_words)
            if short and contains_answer(short, [matched]):
                candidates.append(short)
        if candidates:
            return n, min(candidates, key=len)
    return None


def overlap_sentence(text: str, question: str, max_words: int) -> str | None:
    """The passage sentence sharing most words with the question (first on ties), if short enough."""
    asked = set(normalize_answer(question).split())
    best, best_overlap = None, -1
    for sentence in split_sentences(text):
        if len(sentence.split()) > max_words:
            continue
        overlap = len(asked & set(normalize_answer(sentence).split()))
        if overlap > best_overlap:
            best, best_overlap = sentence, overlap
    return best


def yes_no_answer(label: bool, sentence: str, n: int) -> str:
    """`Yes, <the passage's sentence> [n].`"""
    body = sentence.strip()
    if body.split(" ", 1)[0].lower() in COMMON_OPENERS:
        body = body[0].lower() + body[1:]
    return cited(f"{'Yes' if label else 'No'}, {body}", n)


def sentence_holding(text: str, span: str, max_words: int) -> str | None:
    """The passage sentence that holds the start of an answer span (QuAC spans are passage text)."""
    probe = span.strip()[:40].lower()
    if len(probe) < 8:
        return None
    for sentence in split_sentences(text):
        if probe in sentence.lower():
            return shorten(sentence, span.strip()[:40], max_words)
    return None

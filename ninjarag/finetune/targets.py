"""Training targets by distant supervision: one short sentence in the passage's own words, ending
with its citation, or the refusal sentence. Copying is what a small reader does best, and what the
guard can verify. Linear in the passage text (sentence splitting and substring search only)."""

from __future__ import annotations

from ninjarag.eval.answer_match import contains_answer, normalize_answer
from services.common.sentences import split_sentences

CLAUSE_ENDS = (", ", "; ", " - ", " -- ", ": ")
MAX_SPAN_CUTS = 64  # a QuAC answer line is cut at most this many times
# Words that say nothing about what a question asks for.
STOPWORDS = frozenset("who whom whose what when where which why how many much is are was were be been did do does "
                      "of in on at to for and or by with from as that this it its into than has have had not "
                      "name called first last most".split())
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


def answer_sentence(passages: list[str], answers: list[str], question: str, max_words: int) -> tuple[int, str] | None:
    """(passage number, sentence): of the short enough sentences that hold an accepted answer, the one
    sharing most content words with the question (the earlier passage on ties). A sentence that shares
    too few is a coincidence ("England ... 2--0" for "how many times has England won the cricket world
    cup", answer "0"), not evidence: None when only such are found."""
    asked = content_words(question)
    needed = 2 if len(asked) >= 4 else 1  # one shared word is often just the topic ("England")
    best, best_key = None, (0, 0)
    for n, text in enumerate(passages, start=1):
        for sentence in split_sentences(text):
            matched = matched_answer(sentence, answers)
            short = shorten(sentence, matched, max_words) if matched else None
            if not short or not contains_answer(short, [matched]):
                continue
            key = (len(asked & content_words(short)), -n)
            if key[0] >= needed and key > best_key:
                best, best_key = (n, short), key
    return best


def answer_span(sentence: str, answer: str) -> str:
    """The accepted answer as the sentence spells it ("Mariah Carey" for "mariah carey"), or as given
    when normalisation hides it (punctuation, articles)."""
    answer = answer.strip()
    at = sentence.lower().find(answer.lower())
    return sentence[at: at + len(answer)] if at >= 0 else answer


def matched_answer(sentence: str, answers: list[str]) -> str | None:
    return next((a for a in answers if contains_answer(sentence, [a])), None)


def content_words(text: str) -> set[str]:
    return set(normalize_answer(text).split()) - STOPWORDS


def overlap_sentence(text: str, question: str, max_words: int) -> str | None:
    """The passage sentence sharing most words with the question (first on ties), if short enough."""
    asked = content_words(question)
    best, best_overlap = None, -1
    for sentence in split_sentences(text):
        if len(sentence.split()) > max_words:
            continue
        overlap = len(asked & content_words(sentence))
        if overlap > best_overlap:
            best, best_overlap = sentence, overlap
    return best


def yes_no_answer(label: bool, sentence: str, n: int) -> str:
    """`Yes, <the passage's sentence> [n].`"""
    body = sentence.strip()
    if body.split(" ", 1)[0].lower() in COMMON_OPENERS:
        body = body[0].lower() + body[1:]
    return cited(f"{'Yes' if label else 'No'}, {body}", n)


def span_in(text: str, answers: str, max_words: int) -> str | None:
    """A QuAC answer span as the passage shows it. QuAC lists a question's possible answers on one
    line joined by ", " (and answers hold commas too): the longest prefix of that line, cut at a
    ", ", that the packed passage holds and that is at most max_words long."""
    held, start = text.lower(), 0
    cuts = []
    for _ in range(MAX_SPAN_CUTS):
        at = answers.find(", ", start)
        if at < 0:
            break
        cuts.append(at)
        start = at + 2
    best = None
    for cut in [*cuts, len(answers)]:
        candidate = answers[:cut].strip()
        if len(candidate.split()) > max_words:
            break
        if len(candidate) >= 2 and candidate.lower() in held:
            best = candidate
    return best


def sentence_holding(text: str, span: str, max_words: int) -> str | None:
    """The passage sentence that holds the start of an answer span (QuAC spans are passage text)."""
    probe = span.strip()[:40].lower()
    if len(probe) < 8:
        return None
    for sentence in split_sentences(text):
        if probe in sentence.lower():
            return shorten(sentence, span.strip()[:40], max_words)
    return None

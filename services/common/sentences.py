"""Sentence splitting for answers that cite passages as [n].

Handles abbreviations ("Dr.", "e.g.", "U.S."), initials ("J. R. R. Tolkien"), decimals ("3.14"),
citation markers after the full stop ("... in 1969. [2]") or before it ("... in 1969 [2]."), and a
last sentence without a full stop. `SentenceStream` does the same incrementally for a token
stream, releasing a sentence only once what follows it proves it ended.

The text is untrusted (model output, passages), so every step is linear in its length: every
quantifier in the patterns is bounded, nothing slices the text after a candidate full stop, a
stream resumes where it stopped instead of rescanning, and a "sentence" longer than
MAX_SENTENCE_CHARS is cut at a space, which bounds what a stream holds back.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt vs etc e.g i.e cf al approx inc ltd co corp no fig ca gen col lt sgt "
    "jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n a.m p.m".split()
)
MAX_SENTENCE_CHARS = 2_000
# A citation marker: up to 4 digits a number, up to 8 numbers, e.g. [2], [1, 3], [4;5].
_MARKER = r"\[\d{1,4}(?:\s{0,4}[,;]\s{0,4}\d{1,4}){0,7}\]"
# End punctuation, closing quotes/brackets, then citation markers that belong to this sentence,
# followed by a space or the end of the text ("3.14" and "U.S.A" never become candidates).
_END = re.compile(r"(?<![.!?])[.!?]++[\"'”’)\]]{0,4}+(?:\s{0,16}" + _MARKER + r"){0,8}(?=\s|\Z)")
_CITATION = re.compile(r"\[(\d{1,4}(?:\s{0,4}[,;]\s{0,4}\d{1,4}){0,7})\]")
_NUMBER_SEPARATOR = re.compile(r"\s{0,4}[,;]\s{0,4}")
_NON_SPACE = re.compile(r"\S")
# How far back the word before a full stop is looked for, and how long a marker still arriving may be.
_WORD_WINDOW = 40
_MARKER_IN_PROGRESS_CHARS = 48
_MARKER_CHARS = frozenset("0123456789,; \t\n")


def citations_in(sentence: str) -> list[int]:
    """Passage numbers cited as [n], [n, m] or [n][m], in order, without repeats."""
    found: list[int] = []
    for group in _CITATION.findall(sentence):
        for number in _NUMBER_SEPARATOR.split(group):
            if int(number) not in found:
                found.append(int(number))
    return found


def strip_citations(sentence: str) -> str:
    return " ".join(_CITATION.sub(" ", sentence).split())


def _marker_in_progress(text: str, bracket: int) -> bool:
    """`text[bracket:]` is the start of a citation marker that has not arrived whole yet."""
    tail = len(text) - bracket
    return tail <= _MARKER_IN_PROGRESS_CHARS and all(c in _MARKER_CHARS for c in text[bracket + 1:])


def _is_boundary(text: str, start: int, end: re.Match, final: bool) -> bool | None:
    """True/False once decidable from the text after the match; None if more text is needed
    (in a final text, None means the match ends the text)."""
    following = _NON_SPACE.search(text, end.end())
    if following is None:
        return None
    position = following.start()
    if not final and text[position] == "[" and _marker_in_progress(text, position):
        return None  # a citation marker still arriving belongs to this sentence
    if text[position].islower():
        return False
    if end.group()[0] == ".":
        words = text[max(start, end.start() - _WORD_WINDOW):end.start()].split()
        token = words[-1].strip("(\"'") if words else ""
        if token.lower() in ABBREVIATIONS or _is_initial(token, words[-2] if len(words) > 1 else ""):
            return False
    return True


def _is_initial(token: str, previous: str) -> bool:
    """"J." in "J. R. R. Tolkien" or "John F. Kennedy": one letter after a name, another initial or
    nothing; not the "C." that ends "a superset of C."."""
    return len(token) == 1 and token.isalpha() and (not previous or previous[:1].isupper())


def _cut(sentence: str) -> list[str]:
    """A sentence as pieces of at most MAX_SENTENCE_CHARS, cut at the last space where there is one."""
    pieces = []
    while len(sentence) > MAX_SENTENCE_CHARS:
        cut = sentence.rfind(" ", MAX_SENTENCE_CHARS // 2, MAX_SENTENCE_CHARS)
        cut = cut if cut > 0 else MAX_SENTENCE_CHARS
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    return [*pieces, sentence] if sentence else pieces


def _split(text: str, final: bool, position: int = 0) -> tuple[list[str], int, int]:
    """(complete sentences, where the unfinished rest starts, where to resume the search there)."""
    sentences: list[str] = []
    start = 0
    while (end := _END.search(text, position)) is not None:
        decision = _is_boundary(text, start, end, final)
        if decision is None:
            if final:
                break
            return sentences, start, end.start()
        if decision:
            sentences += _cut(text[start:end.end()].strip())
            start = end.end()
        position = end.end()
    if final:
        return sentences + _cut(text[start:].strip()), len(text), len(text)
    return sentences, start, len(text)


def split_sentences(text: str) -> list[str]:
    return _split(text, final=True)[0]


class SentenceStream:
    """Feed text as it arrives; get back the sentences that are complete."""

    def __init__(self) -> None:
        self._pending = ""
        self._resume = 0  # in `_pending`: where the search for the next sentence end goes on

    def feed(self, text: str) -> list[str]:
        pending = self._pending + text
        sentences, start, resume = _split(pending, final=False, position=self._resume)
        pending, resume = pending[start:], resume - start
        if len(pending) > MAX_SENTENCE_CHARS:  # no end in sight: release what cannot wait any longer
            *full, pending = _cut(pending)
            sentences += full
            resume = 0  # the rest is shorter than one cut: searching it again is bounded
        self._pending, self._resume = pending, resume
        return sentences

    def flush(self) -> list[str]:
        sentences, self._pending, self._resume = split_sentences(self._pending), "", 0
        return sentences


# Punctuation around words that does not change which word it is.
_WORD_PUNCTUATION = ".,;:!?\"'()[]“”‘’"


def normal_word(word: str) -> str:
    """The word as word sets compare it: lowercased, without surrounding punctuation."""
    return word.strip(_WORD_PUNCTUATION).lower()


def word_set(sentence: str) -> frozenset[str]:
    """The sentence's words, lowercased, without citations and surrounding punctuation."""
    return frozenset(normal_word(w) for w in strip_citations(sentence).split()) - {""}


def repeats(sentence: str, earlier: list[str], overlap: float) -> bool:
    """Does `sentence` say again what one of `earlier` said: at least `overlap` of its words are in that one?"""
    words = word_set(sentence)
    return bool(words) and any(len(words & other) / len(words) >= overlap for other in map(word_set, earlier))

"""Sentence splitting for answers that cite passages as [n].

Handles abbreviations ("Dr.", "e.g.", "U.S."), initials ("J. R. R. Tolkien"), decimals ("3.14"),
citation markers after the full stop ("... in 1969. [2]") or before it ("... in 1969 [2]."), and a
last sentence without a full stop. `SentenceStream` does the same incrementally for a token
stream, releasing a sentence only once what follows it proves it ended.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt vs etc e.g i.e cf al approx inc ltd co corp no fig ca gen col lt sgt "
    "jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n a.m p.m".split()
)
# End punctuation, closing quotes/brackets, then citation markers that belong to this sentence.
_END = re.compile(r"[.!?]+[\"'”’)\]]*(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*")
_CITATION = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def citations_in(sentence: str) -> list[int]:
    """Passage numbers cited as [n], [n, m] or [n][m], in order, without repeats."""
    found: list[int] = []
    for group in _CITATION.findall(sentence):
        for number in re.split(r"\s*[,;]\s*", group):
            if int(number) not in found:
                found.append(int(number))
    return found


def strip_citations(sentence: str) -> str:
    return " ".join(_CITATION.sub(" ", sentence).split())


_MARKER_START = re.compile(r"\[\d*(?:\s*[,;]\s*\d*)*$")


def _is_boundary(text: str, end: re.Match, final: bool) -> bool | None:
    """True/False once decidable from the text after the match; None if more text is needed."""
    punctuation = end.group()[0]
    rest = text[end.end():]
    if not rest.strip():
        return None
    if not rest[0].isspace():
        return False  # "3.14", "U.S.A", "x.y"
    if not final and _MARKER_START.match(rest.lstrip()):
        return None  # a citation marker still arriving belongs to this sentence
    following = rest.lstrip()[0]
    if following.islower():
        return False
    if punctuation == ".":
        word = re.search(r"(\S+)$", text[: end.start()])
        token = word.group(1).lower().strip("(\"'") if word else ""
        if token in ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
            return False
    return True


def _split(text: str, final: bool) -> tuple[list[str], str]:
    sentences, start, position = [], 0, 0
    while (end := _END.search(text, position)) is not None:
        decision = _is_boundary(text, end, final)
        if decision is None:
            if final and not text[end.end():].strip():
                break
            return sentences, text[start:]
        if decision:
            sentence = text[start:end.end()].strip()
            if sentence:
                sentences.append(sentence)
            start = end.end()
        position = end.end()
    tail = text[start:]
    if final:
        if tail.strip():
            sentences.append(tail.strip())
        return sentences, ""
    return sentences, tail


def split_sentences(text: str) -> list[str]:
    return _split(text, final=True)[0]


class SentenceStream:
    """Feed text as it arrives; get back the sentences that are complete."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, text: str) -> list[str]:
        sentences, self._pending = _split(self._pending + text, final=False)
        return sentences

    def flush(self) -> list[str]:
        sentences, self._pending = _split(self._pending, final=True)
        return sentences

"""The upload parsers meet untrusted files: each is linear in its input. 100,000 adversarial
characters take each format's parser (and the chunker after it) well under a budget, and ten times
the text takes about ten times as long, not a hundred."""

import json
import time

import pytest

from services.common.corpus import split_words
from services.retriever.documents import ExtractionLimits, extract
from services.retriever.ingestion import _encoding_fraction
from tests.helpers import adversarial_texts, worst_time_s

TEXTS = adversarial_texts()
LIMITS = ExtractionLimits()
BUDGET_S = 0.5  # the parsers are Python (BeautifulSoup's is too): generous per 100,000 characters


def _as(filename: str):  # noqa: ANN202
    def parse(text: str) -> list:
        data = json.dumps({"id": "d", "title": "t", "text": text}).encode() if filename.endswith(".jsonl") else text.encode()
        return list(extract(filename, data, LIMITS))
    return parse


@pytest.mark.parametrize("filename", ["a.txt", "a.md", "a.html", "a.jsonl"])
def test_each_format_is_linear(filename):
    worst, text = worst_time_s(_as(filename), TEXTS, repeats=1)
    assert worst < BUDGET_S, f"{filename} took {worst * 1000:.0f} ms on {text!r}..."


@pytest.mark.parametrize("fragment", ["<a ", "<", "<!--", "# ", "[", "a. B", "\x00"])
def test_time_grows_in_proportion(fragment):
    def seconds(length: int) -> float:
        text = (fragment * (length // len(fragment) + 1))[:length]
        started = time.perf_counter()
        for filename in ("a.html", "a.md", "a.txt"):
            _as(filename)(text)
        split_words(text)
        return time.perf_counter() - started

    small, large = seconds(20_000), seconds(200_000)
    assert large < 25 * max(small, 0.010), f"{fragment!r}: 20k chars {small * 1000:.0f} ms, 200k {large * 1000:.0f} ms"


def test_the_build_progress_reader_is_linear():
    tail = b"encoding passages:" + b" " * 100_000 + b"%" * 100_000
    started = time.perf_counter()
    assert _encoding_fraction(tail) is None
    assert _encoding_fraction(b"x\rencoding passages:  45%|####") == 0.45
    assert time.perf_counter() - started < 0.05

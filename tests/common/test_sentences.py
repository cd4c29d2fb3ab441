import pytest

from services.common.sentences import SentenceStream, citations_in, split_sentences, strip_citations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apollo 11 landed in 1969. [2] Armstrong walked first [1].",
         ["Apollo 11 landed in 1969. [2]", "Armstrong walked first [1]."]),
        ("It landed in 1969 [2]. Then it returned [3].", ["It landed in 1969 [2].", "Then it returned [3]."]),
        ("Dr. Smith met Mr. Jones in the U.S. in May. They talked.",
         ["Dr. Smith met Mr. Jones in the U.S. in May.", "They talked."]),
        ("J. R. R. Tolkien wrote it. It sold well.", ["J. R. R. Tolkien wrote it.", "It sold well."]),
        ("John F. Kennedy won. He was young.", ["John F. Kennedy won.", "He was young."]),
        ("It is a superset of C. C++ is newer.", ["It is a superset of C.", "C++ is newer."]),
        ("Pi is about 3.14 [1]. E is 2.72.", ["Pi is about 3.14 [1].", "E is 2.72."]),
        ("Many fruits, e.g. apples, are sweet. Yes.", ["Many fruits, e.g. apples, are sweet.", "Yes."]),
        ("It was cited [1][3]. And more [2, 4]", ["It was cited [1][3].", "And more [2, 4]"]),
        ("A last sentence without a full stop", ["A last sentence without a full stop"]),
        ('He said "stop." Then he left!', ['He said "stop."', "Then he left!"]),
        ("", []),
        ("   ", []),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_citations_and_their_removal():
    assert citations_in("A [2] b [1, 3]; c [2][4].") == [2, 1, 3, 4]
    assert citations_in("no markers") == []
    assert strip_citations("It landed in 1969 [2]. [3]") == "It landed in 1969 ."


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_stream_releases_a_sentence_only_when_it_is_complete(chunk):
    text = "Apollo 11 landed in 1969. [2] Dr. Armstrong walked first [1]. It was 3.5 hours long"
    stream, released = SentenceStream(), []
    for start in range(0, len(text), chunk):
        released += stream.feed(text[start:start + chunk])
    assert released == ["Apollo 11 landed in 1969. [2]", "Dr. Armstrong walked first [1]."]
    assert stream.flush() == ["It was 3.5 hours long"]


def test_stream_waits_for_a_citation_marker_after_the_full_stop():
    stream = SentenceStream()
    assert stream.feed("It landed in 1969.") == []
    assert stream.feed(" [2]") == []
    assert stream.feed(" Next") == ["It landed in 1969. [2]"]

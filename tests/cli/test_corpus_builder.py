from ninjarag.prepare.corpus import Document, build_corpus, read_boolq, split_words
from services.common.corpus import iter_passages


def words(n: int, word: str = "word") -> str:
    return " ".join([word] * n)


def test_split_keeps_whole_sentences_under_the_limit():
    first, second, third = (f"{name} {words(49)}." for name in ("Alpha", "Beta", "Gamma"))
    assert split_words(f"{first} {second} {third}", max_words=120) == [f"{first} {second}", third]


def test_a_sentence_longer_than_the_limit_is_cut_by_words():
    chunks = split_words(words(300), max_words=120)
    assert [len(chunk.split()) for chunk in chunks] == [120, 120, 60]


def test_a_full_stop_before_a_lowercase_word_is_not_a_sentence_end():
    assert split_words("Built by monks, e.g. the abbots. Then it fell.", max_words=6) == [
        "Built by monks, e.g. the abbots.",
        "Then it fell.",
    ]


def test_boolq_title_is_taken_from_the_passage_prefix(tmp_path):
    path = tmp_path / "boolq.jsonl"
    path.write_text('{"question": "q", "passage": "Ethanol fuel -- Ethanol is a fuel."}\n')
    assert list(read_boolq(path)) == [Document("boolq", "Ethanol fuel", "Ethanol is a fuel.")]


def test_build_deduplicates_keeps_titles_and_gives_stable_ids(tmp_path):
    documents = [
        Document("wiki", "Alpha", f"{words(100, 'x')}. {words(100, 'y')}."),
        Document("boolq", "Alpha copy", f"{words(100, 'X')}. {words(100, 'Y')}."),  # same text, other case
        Document("quac", "", "Beta is short."),
    ]
    out = tmp_path / "corpus.jsonl"
    stats = build_corpus(iter(documents), out)
    assert stats.documents_read == {"wiki": 1, "boolq": 1, "quac": 1}
    assert stats.duplicates_dropped == 1
    assert (stats.documents, stats.passages) == (2, 3)
    passages = list(iter_passages(out))
    assert [p.title for p in passages] == ["Alpha", "Alpha", ""]
    assert all(len(p.text.split()) <= 120 for p in passages)
    first_ids = [p.id for p in passages]
    assert first_ids[0].startswith("wiki-") and first_ids[0].endswith("-0") and first_ids[1].endswith("-1")
    build_corpus(iter(documents), out)
    assert [p.id for p in iter_passages(out)] == first_ids

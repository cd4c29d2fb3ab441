import pytest

from services.common.corpus import CorpusFormatError, iter_passages


def test_reads_valid_passages(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "title": "A", "text": "alpha"}\n\n{"id": "b", "title": "", "text": "beta"}\n')
    assert [p.id for p in iter_passages(path)] == ["a", "b"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"c.jsonl:2: not valid JSON"),
        ('{"id": "b", "title": "B"}', r"c.jsonl:2: text: Field required"),
        ('{"id": "b", "title": "B", "text": "x", "lang": "en"}', r"c.jsonl:2: lang: Extra inputs"),
        ('{"id": "a", "title": "A", "text": "again"}', r"c.jsonl:2: duplicate id 'a'"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "title": "A", "text": "alpha"}\n' + line + "\n")
    with pytest.raises(CorpusFormatError, match=message):
        list(iter_passages(path))

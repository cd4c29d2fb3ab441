"""`ninjarag ask` prints what the service sent as text, never as terminal control sequences."""

from ninjarag.ask import _print_stream, printable


class Event:
    def __init__(self, event: str, data: str) -> None:
        self.event, self.data = event, data


def test_escape_sequences_from_an_answer_never_reach_the_terminal():
    hostile = "Paris\x1b]0;owned\x07 is \x1b[2J\x1b[31mred\x9b31m"
    assert "\x1b" not in printable(hostile) and "\x07" not in printable(hostile) and "\x9b" not in printable(hostile)
    assert printable("Line one\nline two\ttab") == "Line one\nline two\ttab"
    printed = []
    events = [Event("sources", '{"sources": []}'), Event("sentence", '{"text": "A \\u001b[2J b", "citations": []}'),
              Event("citations", '{"citations": [{"n": 1, "title": "T\\u001b[31m", "id": "x"}]}'),
              Event("done", '{"verdict": "ok", "timings_ms": {}}')]
    _print_stream(events, printed.append)
    assert not any("\x1b" in line for line in printed)

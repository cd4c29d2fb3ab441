"""The guard's passage sets: content-addressed, bounded in count, forgotten after their time."""

import time

from services.common.contracts.search import Passage
from services.guard.passage_sets import PassageSets, passage_set_id

PARIS = Passage(id="paris", title="Paris", text="Paris is the capital of France.")
ROME = Passage(id="rome", title="Rome", text="Rome is the capital of Italy.")


def test_the_same_passages_get_the_same_id_and_order_matters():
    assert passage_set_id([PARIS, ROME]) == PassageSets().register([PARIS, ROME])
    assert passage_set_id([PARIS, ROME]) != passage_set_id([ROME, PARIS])  # [n] numbers follow the order
    # Field boundaries count: moving text between title and body is another set.
    assert passage_set_id([Passage(id="a", title="b c", text="d")]) != passage_set_id([Passage(id="a", title="b", text="c d")])


def test_at_most_size_sets_the_least_recently_used_go_first():
    sets = PassageSets(size=2)
    first, second = sets.register([PARIS]), sets.register([ROME])
    assert sets.get(first) == [PARIS]  # used: now the most recent
    sets.register([PARIS, ROME])
    assert sets.get(second) is None and sets.get(first) == [PARIS]


def test_a_set_is_forgotten_after_its_time(monkeypatch):
    sets = PassageSets(ttl_s=10)
    key = sets.register([PARIS])
    clock = time.monotonic() + 11
    monkeypatch.setattr("services.guard.passage_sets.time.monotonic", lambda: clock)
    assert sets.get(key) is None

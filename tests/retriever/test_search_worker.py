"""The search worker's queue places: a search whose client is gone before its answer gives its
place back, and the worker goes on serving the others."""

import asyncio

from services.common.contracts.search import Passage
from services.retriever.batching import SearchWorker


class SlowIndex:
    """Stands in for RetrieverIndex: the worker only calls these two."""

    def __init__(self) -> None:
        self.searched: list[str] = []

    def encode(self, queries: list[str]) -> list[str]:
        return queries

    def search_encoded(self, query: str, embedding, k: int, mode: str, filters=None) -> list[Passage]:  # noqa: ANN001
        self.searched.append(query)
        return [Passage(id=f"{query}-{n}", title="", text=query) for n in range(k)]


def test_a_search_abandoned_before_its_answer_gives_back_its_place_and_the_worker_goes_on():
    async def scenario() -> None:
        worker = SearchWorker(max_batch=8, batch_wait_ms=50, max_queued=2)
        worker.start()
        index = SlowIndex()
        try:
            abandoned = asyncio.create_task(worker.search(index, ["gone", "away"], 1, "colbert"))
            await asyncio.sleep(0.01)
            assert worker.queued.in_flight == 2  # both places taken: a third query would be refused
            abandoned.cancel()  # the client hangs up before the first byte
            await asyncio.sleep(0.2)  # the worker takes the job off the queue
            assert worker.queued.in_flight == 0
            outcome = await asyncio.wait_for(worker.search(index, ["next"], 2, "colbert"), 5)
            assert [p.id for p in outcome.passages[0]] == ["next-0", "next-1"]
            assert "gone" not in index.searched  # the abandoned job was not run
        finally:
            await worker.stop()

    asyncio.run(scenario())

"""JSON answers stop when their client hangs up."""

import asyncio

import pytest

from services.common.disconnect import ClientDisconnected, unless_disconnected


class FakeRequest:
    def __init__(self, hang_up_after_s: float) -> None:
        self.hang_up_after_s = hang_up_after_s

    async def receive(self) -> dict:
        await asyncio.sleep(self.hang_up_after_s)
        return {"type": "http.disconnect"}


async def test_the_work_is_cancelled_and_cleaned_up_when_the_client_hangs_up():
    cleaned = asyncio.Event()

    async def work() -> str:
        try:
            await asyncio.sleep(30)
            return "late"
        finally:
            cleaned.set()  # where a generation stream is closed and aborted upstream

    with pytest.raises(ClientDisconnected):
        await asyncio.wait_for(unless_disconnected(FakeRequest(0.05), work()), 2)
    assert cleaned.is_set()


async def test_the_result_comes_back_while_the_client_is_there():
    async def work() -> str:
        await asyncio.sleep(0.01)
        return "answer"

    assert await unless_disconnected(FakeRequest(10), work()) == "answer"

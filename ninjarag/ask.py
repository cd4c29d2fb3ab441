"""`ninjarag ask`: send a question to the running gateway and print the streamed answer."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from httpx_sse import connect_sse

from ninjarag.errors import UserError
from services.common.contracts.answer import AnswerRequest
from services.common.http import bearer


def ask(gateway_url: str, question: str, api_key: str | None, top_k: int, echo: Callable[[str], None]) -> None:
    request = AnswerRequest(question=question, top_k=top_k, stream=True)
    headers = bearer(api_key)
    try:
        with httpx.Client(base_url=gateway_url, timeout=httpx.Timeout(300, connect=5)) as client:
            with connect_sse(client, "POST", "/v1/answer", json=request.model_dump(), headers=headers) as source:
                if source.response.is_error:
                    source.response.read()
                    raise UserError(_problem_line(source.response))
                _print_stream(source.iter_sse(), echo)
    except httpx.ConnectError:
        raise UserError(f"no gateway answers at {gateway_url}: start the stack with `ninjarag up`") from None


# Text from the service (model output, passage titles) never reaches the terminal as escape codes.
_TERMINAL_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)])


def printable(text: str) -> str:
    return text.translate(_TERMINAL_CONTROLS)


def _problem_line(response: httpx.Response) -> str:
    try:
        body = response.json()
        return printable(f"gateway answered {response.status_code} {body.get('type')}: {body.get('detail')}")
    except ValueError:
        return printable(f"gateway answered {response.status_code}: {response.text[:200]}")


def _print_stream(events, echo: Callable[[str], None]) -> None:  # noqa: ANN001 - iterator of ServerSentEvent
    sources: list[dict] = []
    for sse in events:
        data = json.loads(sse.data) if sse.data else {}
        if sse.event == "sources":
            sources = data.get("sources", [])
        elif sse.event == "sentence":
            echo(printable(data["text"]))
        elif sse.event == "citations":
            echo("\nSources:")
            for source in data.get("citations", []):
                echo(printable(f"  [{source['n']}] {source['title'] or source['id']}"))
        elif sse.event == "done":
            timings = ", ".join(f"{stage} {ms:.0f} ms" for stage, ms in data.get("timings_ms", {}).items())
            echo(f"\n({data.get('verdict')}; {len(sources)} passages retrieved; {timings})")
            return
        elif sse.event == "error":
            raise UserError(printable(f"the answer failed: {data.get('type')}: {data.get('message')}"))
    raise UserError("the gateway closed the stream without a final event")

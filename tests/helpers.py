"""Small helpers shared by the suites."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from fastapi.testclient import TestClient


def sse_events(lines: Iterable[str]) -> list[tuple[str, dict]]:
    """(event, data) pairs from the lines of a Server-Sent Events response."""
    events, name = [], None
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def wait_until_ready(client: TestClient, timeout_s: float = 120.0) -> dict:
    """Poll /readyz until it says ready or a check failed; returns the last body."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get("/readyz").json()
        failed = any(value.startswith("failed") for value in body["checks"].values())
        if body["ready"] or failed or time.monotonic() > deadline:
            return body
        time.sleep(0.1)

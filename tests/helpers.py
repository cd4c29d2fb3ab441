"""Small helpers shared by the suites."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient


def wait_until_ready(client: TestClient, timeout_s: float = 120.0) -> dict:
    """Poll /readyz until it says ready or a check failed; returns the last body."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get("/readyz").json()
        failed = any(value.startswith("failed") for value in body["checks"].values())
        if body["ready"] or failed or time.monotonic() > deadline:
            return body
        time.sleep(0.1)

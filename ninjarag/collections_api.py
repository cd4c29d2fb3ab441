"""The gateway's collection, ingestion, feedback and variant-report API, as the command line calls it
(with the caller's key): what `ninjarag collections`, `ingest`, `feedback export` and `variants report` do."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from ninjarag import keys
from ninjarag.client import GatewayProblem
from ninjarag.errors import UserError
from ninjarag.settings import StackSettings
from services.common.contracts.collections import CollectionInfo, CollectionList, IngestJob
from services.common.http import bearer

# One upload request carries files up to this size together (the gateway takes 64 MiB by default).
UPLOAD_BATCH_BYTES = 32 * 1024 * 1024


class GatewayApi:
    def __init__(self, gateway_url: str, api_key: str) -> None:
        self.client = httpx.Client(base_url=gateway_url, headers=bearer(api_key), timeout=120)

    @classmethod
    def local(cls, settings: StackSettings) -> GatewayApi:
        """The local stack's gateway, called with NINJARAG_API_KEY or the local admin key."""
        return cls(settings.gateway_url, keys.demo_key(settings))

    def __enter__(self) -> GatewayApi:
        return self

    def __exit__(self, *_: object) -> None:
        self.client.close()

    def _call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise UserError(f"cannot reach the gateway at {self.client.base_url} ({type(exc).__name__}); "
                            "start the stack with `ninjarag up`") from None
        if response.is_error:
            problem = GatewayProblem.from_response(response)
            raise UserError(f"{problem.type}: {problem.detail}")
        return response

    def collections(self) -> list[CollectionInfo]:
        return CollectionList.model_validate(self._call("GET", "/v1/collections").json()).collections

    def create(self, name: str, description: str) -> CollectionInfo:
        body = {"name": name, "description": description}
        return CollectionInfo.model_validate(self._call("POST", "/v1/collections", json=body).json())

    def delete(self, name: str) -> None:
        self._call("DELETE", f"/v1/collections/{name}")

    def upload(self, collection: str, paths: list[Path]) -> IngestJob:
        files = [("files", (path.name, path.read_bytes())) for path in paths]
        return IngestJob.model_validate(self._call("POST", f"/v1/collections/{collection}/documents", files=files).json())

    def job(self, job_id: str) -> IngestJob:
        return IngestJob.model_validate(self._call("GET", f"/v1/jobs/{job_id}").json())

    def follow(self, job: IngestJob, on_change: Callable[[IngestJob], None], poll_s: float = 0.5) -> IngestJob:
        """Poll a job until it is done or failed, calling `on_change` with each new state."""
        while job.state not in ("done", "failed"):
            time.sleep(poll_s)
            job = self.job(job.id)
            on_change(job)
        return job

    def feedback(self, since: str | None) -> Iterator[dict]:
        """Every feedback record after `since`, page by page."""
        while True:
            page = self._call("GET", "/v1/feedback", params={"limit": 1000, **({"since": since} if since else {})}).json()
            yield from page["feedback"]
            since = page["next_since"]
            if since is None:
                return


    def variant_report(self, last: int) -> dict:
        return self._call("GET", "/v1/variants/report", params={"last": last}).json()


def upload_batches(paths: list[Path], limit: int = UPLOAD_BATCH_BYTES) -> list[list[Path]]:
    """Files grouped into uploads of at most `limit` bytes each (a larger file goes alone)."""
    batches: list[list[Path]] = []
    size = 0
    for path in paths:
        length = path.stat().st_size
        if not batches or size + length > limit:
            batches.append([])
            size = 0
        batches[-1].append(path)
        size += length
    return batches

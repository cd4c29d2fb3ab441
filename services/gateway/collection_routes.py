"""Collections, documents and ingestion jobs, for API keys: each route checks the key's access to the
collection (services/gateway/access.py), then relays to the retriever, which owns them."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from fastapi import APIRouter, Request, Response

from services.common.contracts.collections import (
    CollectionInfo,
    CollectionList,
    CreateCollection,
    IngestJob,
)
from services.common.errors import CollectionNotFound, Forbidden, JobNotFound
from services.common.uploads import CollectionPath, DocumentIdPath, JobIdPath, uploaded_files
from services.gateway.access import hidden, no_job, require_read, require_write
from services.gateway.deps import Gateway, Key

router = APIRouter(prefix="/v1", tags=["collections"])
T = TypeVar("T")


async def _relay(name: str, call: Awaitable[T]) -> T:
    """A retriever call about collection `name`: its not-found reads exactly as a hidden collection's."""
    try:
        return await call
    except CollectionNotFound:
        raise hidden(name) from None


@router.get("/collections", response_model=CollectionList)
async def list_collections(gateway: Gateway, key: Key) -> CollectionList:
    """The collections this key may read."""
    every = await gateway.upstreams.retriever.get_json("/v1/collections", CollectionList)
    return CollectionList(collections=[c for c in every.collections if key.can_read(c.name)])


@router.post("/collections", response_model=CollectionInfo, status_code=201)
async def create_collection(body: CreateCollection, gateway: Gateway, key: Key) -> CollectionInfo:
    if not key.can_write(body.name):
        raise Forbidden(f"key {key.key_id} may not create collection {body.name!r}: it needs write access to that "
                        "name (`ninjarag keys create NAME --write NAME`)")
    return await gateway.upstreams.retriever.call("POST", "/v1/collections", CollectionInfo, body=body)


@router.get("/collections/{name}", response_model=CollectionInfo)
async def get_collection(name: CollectionPath, gateway: Gateway, key: Key) -> CollectionInfo:
    require_read(key, name)
    return await _relay(name, gateway.upstreams.retriever.get_json(f"/v1/collections/{name}", CollectionInfo))


@router.delete("/collections/{name}", status_code=204)
async def delete_collection(name: CollectionPath, gateway: Gateway, key: Key) -> Response:
    require_write(key, name)
    await _relay(name, gateway.upstreams.retriever.call("DELETE", f"/v1/collections/{name}"))
    return Response(status_code=204)


@router.post("/collections/{name}/documents", response_model=IngestJob, status_code=202)
async def upload_documents(name: CollectionPath, request: Request, gateway: Gateway, key: Key) -> IngestJob:
    """multipart/form-data, one or more parts named `files`: .jsonl (id, title, text, metadata per line), .txt,
    .md, .html or .pdf. Returns the ingestion job at once; GET /v1/jobs/{id} follows it."""
    require_write(key, name)
    files = [("files", upload) for upload in await uploaded_files(request)]
    return await _relay(name, gateway.upstreams.retriever.call("POST", f"/v1/collections/{name}/documents",
                                                               IngestJob, files=files))


@router.delete("/collections/{name}/documents/{document_id:path}", response_model=IngestJob, status_code=202)
async def delete_document(name: CollectionPath, document_id: DocumentIdPath, gateway: Gateway, key: Key) -> IngestJob:
    require_write(key, name)
    return await _relay(name, gateway.upstreams.retriever.call(
        "DELETE", f"/v1/collections/{name}/documents/{document_id}", IngestJob))


@router.get("/jobs/{job_id}", response_model=IngestJob)
async def get_job(job_id: JobIdPath, gateway: Gateway, key: Key) -> IngestJob:
    """An ingestion job, if this key may read its collection."""
    try:
        job = await gateway.upstreams.retriever.get_json(f"/v1/jobs/{job_id}", IngestJob)
    except JobNotFound:
        raise no_job(job_id) from None
    if not key.can_read(job.collection):
        raise no_job(job_id)
    if job.state == "done":  # answers over the collection must not come from the old version's cache
        gateway.pipeline.versions.forget(job.collection)
    return job

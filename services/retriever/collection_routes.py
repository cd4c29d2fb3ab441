"""The retriever's collection routes (internal; the gateway checks each API key's access first):
create, list and delete collections, upload documents (a job id at once), delete one, follow a job."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.common.contracts.collections import (
    CollectionInfo,
    CollectionList,
    CreateCollection,
    IngestJob,
)
from services.common.uploads import CollectionPath, DocumentIdPath, JobIdPath, uploaded_files
from services.retriever.deps import Retriever

router = APIRouter(prefix="/v1")


@router.get("/collections", response_model=CollectionList)
async def list_collections(retriever: Retriever) -> CollectionList:
    return CollectionList(collections=retriever.collection_infos())


@router.post("/collections", response_model=CollectionInfo, status_code=201)
async def create_collection(body: CreateCollection, retriever: Retriever) -> CollectionInfo:
    return retriever.collections.create(body)


@router.get("/collections/{name}", response_model=CollectionInfo)
async def get_collection(name: CollectionPath, retriever: Retriever) -> CollectionInfo:
    return retriever.collection_info(name)


@router.delete("/collections/{name}", status_code=204)
async def delete_collection(name: CollectionPath, retriever: Retriever) -> Response:
    retriever.collections.delete(name)
    return Response(status_code=204)


@router.post("/collections/{name}/documents", response_model=IngestJob, status_code=202)
async def upload_documents(name: CollectionPath, request: Request, retriever: Retriever) -> IngestJob:
    """multipart/form-data, one or more `files` parts: .jsonl, .txt, .md, .html, .pdf."""
    retriever.collections.writable(name)
    return retriever.collections.ingest(name, await uploaded_files(request))


@router.delete("/collections/{name}/documents/{document_id:path}", response_model=IngestJob, status_code=202)
async def delete_document(name: CollectionPath, document_id: DocumentIdPath, retriever: Retriever) -> IngestJob:
    return retriever.collections.delete_document(name, document_id)


@router.get("/jobs/{job_id}", response_model=IngestJob)
async def get_job(job_id: JobIdPath, retriever: Retriever) -> IngestJob:
    return retriever.collections.job(job_id)

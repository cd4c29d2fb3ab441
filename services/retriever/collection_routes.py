"""The retriever's collection routes (internal; the gateway checks each API key's access first):
create, list and delete collections, upload documents (a job id at once), delete one, follow a job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from starlette.datastructures import UploadFile

from services.common.contracts.collections import (
    DOCUMENT_ID_PATTERN,
    NAME_PATTERN,
    CollectionInfo,
    CollectionList,
    CreateCollection,
    IngestJob,
)
from services.common.errors import InvalidRequest
from services.retriever.deps import Retriever

router = APIRouter(prefix="/v1")
Name = Annotated[str, Path(pattern=NAME_PATTERN)]
DocumentIdPath = Annotated[str, Path(pattern=DOCUMENT_ID_PATTERN)]
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
MAX_FILES_PER_UPLOAD = 1000


@router.get("/collections", response_model=CollectionList)
async def list_collections(retriever: Retriever) -> CollectionList:
    return CollectionList(collections=retriever.collection_infos())


@router.post("/collections", response_model=CollectionInfo, status_code=201)
async def create_collection(body: CreateCollection, retriever: Retriever) -> CollectionInfo:
    return retriever.collections.create(body)


@router.get("/collections/{name}", response_model=CollectionInfo)
async def get_collection(name: Name, retriever: Retriever) -> CollectionInfo:
    if name == retriever.settings.default_collection:
        return retriever.collection_infos()[0]
    retriever.collections.require(name)
    return retriever.collections.info(name)


@router.delete("/collections/{name}", status_code=204)
async def delete_collection(name: Name, retriever: Retriever) -> Response:
    retriever.collections.delete(name)
    return Response(status_code=204)


@router.post("/collections/{name}/documents", response_model=IngestJob, status_code=202)
async def upload_documents(name: Name, request: Request, retriever: Retriever) -> IngestJob:
    """multipart/form-data, one or more `files` parts: .jsonl, .txt, .md, .html, .pdf."""
    retriever.collections.writable(name)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest("send the files as multipart/form-data parts named `files`")
    async with request.form(max_files=MAX_FILES_PER_UPLOAD, max_fields=MAX_FILES_PER_UPLOAD) as form:
        uploads = [part for part in form.getlist("files") if isinstance(part, UploadFile)]
        if not uploads:
            raise InvalidRequest("no files: send one or more multipart parts named `files`, each with a filename")
        files = [(upload.filename or "file", await upload.read()) for upload in uploads]
    return retriever.collections.ingest(name, files)


@router.delete("/collections/{name}/documents/{document_id:path}", response_model=IngestJob, status_code=202)
async def delete_document(name: Name, document_id: DocumentIdPath, retriever: Retriever) -> IngestJob:
    return retriever.collections.delete_document(name, document_id)


@router.get("/jobs/{job_id}", response_model=IngestJob)
async def get_job(job_id: JobId, retriever: Retriever) -> IngestJob:
    return retriever.collections.job(job_id)

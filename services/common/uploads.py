"""What the gateway and the retriever share on the collection routes: the path parameters, checked
by pattern before any work, and reading uploaded files from a multipart body, bounded in count."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request
from starlette.datastructures import UploadFile

from services.common.contracts.collections import DOCUMENT_ID_PATTERN, NAME_PATTERN
from services.common.errors import InvalidRequest

CollectionPath = Annotated[str, Path(pattern=NAME_PATTERN)]
DocumentIdPath = Annotated[str, Path(pattern=DOCUMENT_ID_PATTERN)]
JobIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
MAX_FILES_PER_UPLOAD = 1000


async def uploaded_files(request: Request) -> list[tuple[str, bytes]]:
    """(filename, content) of each multipart part named `files`; the body's size is bounded before this
    (services/common/limits.py), the number of parts here."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest("send the files as multipart/form-data parts named `files`")
    async with request.form(max_files=MAX_FILES_PER_UPLOAD, max_fields=MAX_FILES_PER_UPLOAD) as form:
        parts = [part for part in form.getlist("files") if isinstance(part, UploadFile)]
        if not parts:
            raise InvalidRequest("no files: send one or more multipart parts named `files`, each with a filename")
        return [(part.filename or "file", await part.read()) for part in parts]

"""Collections contract: named corpora with their own index, the documents ingested into them, and
the ingestion jobs that index them. The gateway serves it to API keys (with per-key access); the
retriever owns the collections and runs the jobs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from services.common.contracts.base import Contract

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
CollectionName = Annotated[str, Field(pattern=NAME_PATTERN, description="Lower-case letters, digits, - and _; "
                                      "at most 63 characters, starting with a letter or digit.")]
DOCUMENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,149}$"
DocumentId = Annotated[str, Field(pattern=DOCUMENT_ID_PATTERN)]
# What a filter or a document's metadata may hold: flat values, or a list of them.
MetadataScalar = str | int | float | bool
MetadataValue = MetadataScalar | list[MetadataScalar]
MAX_METADATA_FIELDS = 32
MAX_METADATA_LIST = 32
MAX_METADATA_STRING = 200
FIELD_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"  # a metadata field's name
Filters = Annotated[
    dict[Annotated[str, Field(pattern=FIELD_PATTERN)], MetadataValue],
    Field(max_length=MAX_METADATA_FIELDS, description="Metadata equality: a passage matches when, for every field, "
          "its value equals the given value, or is one of the given list; a list-valued field matches when any of "
          "its values does."),
]
JobState = Literal["queued", "running", "done", "failed"]


class CreateCollection(Contract):
    name: CollectionName
    description: str = Field(default="", max_length=500)


class CollectionInfo(Contract):
    name: str
    description: str = ""
    documents: int = Field(ge=0)
    passages: int = Field(ge=0)
    index_version: str = Field(description="'empty' until a first document is indexed.")
    read_only: bool = Field(description="The demo collection is built by `ninjarag prepare`, not by ingestion.")
    created_at: float


class CollectionList(Contract):
    collections: list[CollectionInfo]


class DocumentError(Contract):
    file: str
    document: str | None = Field(default=None, description="The document's id, or the JSONL line, where known.")
    error: str


class JobCounts(Contract):
    files: int = Field(default=0, ge=0)
    documents: int = Field(default=0, ge=0, description="Documents read from the files.")
    indexed: int = Field(default=0, ge=0, description="Documents added or replaced in the collection.")
    deleted: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0, description="Documents (or files) refused; `errors` says why.")
    passages: int = Field(default=0, ge=0, description="Passages in the collection once the job is done.")


class IngestJob(Contract):
    id: str
    collection: str
    kind: Literal["ingest", "delete"]
    state: JobState
    stage: str = Field(description="queued, extracting, indexing, loading, done or failed.")
    progress: float = Field(ge=0, le=1)
    counts: JobCounts
    errors: list[DocumentError] = Field(default_factory=list, description="At most 1,000, one per bad document.")
    reason: str | None = Field(default=None, description="Why a failed job failed.")
    index_version: str | None = Field(default=None, description="The version a done job's documents are served from.")
    created_at: float
    updated_at: float
    seconds: float = Field(default=0.0, ge=0, description="Time spent running so far.")

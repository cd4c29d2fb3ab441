from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.common.contracts.collections import NAME_PATTERN
from services.common.paths import Home
from services.common.settings import ComputeSettings


class RetrieverSettings(ComputeSettings):
    model_config = SettingsConfigDict(env_prefix="RETRIEVER_", extra="ignore")

    port: int = Field(default=8001, ge=1, le=65535)
    index_dir: Path = Field(default_factory=lambda: Home.from_env().demo_index)
    # `POST /v1/admin/reload {"index": NAME}` loads INDEX_ROOT/NAME, never a path from the request.
    index_root: Path = Field(default_factory=lambda: Home.from_env().demo_index.parent)
    # Required by /v1/admin/*; unset: admin routes are off (403) wherever a service token is set.
    admin_token: SecretStr | None = None
    # Production: a trained colbertv2.0 folder. Locally: MiniLM in the same layout.
    checkpoint_path: Path = Field(default_factory=lambda: Home.from_env().colbert_checkpoint)
    torch_extensions_dir: Path = Field(default_factory=lambda: Home.from_env().torch_extensions)
    # Query encoding; auto = bf16 where the CPU has native bf16, else fp32 (see encoding.resolve_precision).
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    # Concurrent requests are encoded together: up to max_batch queries, waiting at most batch_wait_ms.
    max_batch: int = Field(default=16, ge=1, le=256)
    batch_wait_ms: float = Field(default=2.0, ge=0, le=100)
    # Queries waiting beyond this are refused with 503 + Retry-After instead of queueing without bound.
    max_queued: int = Field(default=256, ge=1)
    hybrid_candidates: int = Field(default=100, ge=1, le=1000)
    # Collections: the configured index is served as `default_collection` (read-only); ingested
    # collections live under collections_root, each with its own index.
    default_collection: str = Field(default="demo", pattern=NAME_PATTERN)
    collections_root: Path = Field(default_factory=lambda: Home.from_env().collections)
    max_collections: int = Field(default=64, ge=1, le=10_000)
    # Uploads: per request, per file, per job. Index builds run niced, on this many threads.
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=1, le=1024 * 1024 * 1024)
    max_documents_per_job: int = Field(default=10_000, ge=1, le=1_000_000)
    ingest_threads: int = Field(default=1, ge=1, le=256)

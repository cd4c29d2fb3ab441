"""What an API key may see of the collections: one it cannot read does not exist for it (404, the same
answer as for a collection that does not exist at all); one it can read but not write is a 403."""

from __future__ import annotations

from services.common.errors import CollectionNotFound, Forbidden, JobNotFound
from services.gateway.keys import ApiKey


def hidden(name: str) -> CollectionNotFound:
    return CollectionNotFound(f"no collection {name[:70]!r}; GET /v1/collections lists those this key may read")


def no_job(job_id: str) -> JobNotFound:
    return JobNotFound(f"no ingestion job {job_id[:40]!r} this key may read")


def require_read(key: ApiKey, name: str) -> None:
    if not key.can_read(name):
        raise hidden(name)


def require_write(key: ApiKey, name: str) -> None:
    require_read(key, name)
    if not key.can_write(name):
        raise Forbidden(f"key {key.key_id} may read collection {name!r} but not write it; ask for a key with "
                        f"`ninjarag keys create NAME --write {name}`")


def require_admin(key: ApiKey, what: str) -> None:
    if not key.admin:
        raise Forbidden(f"{what} needs a key with the admin scope (`ninjarag keys create NAME --admin`)")

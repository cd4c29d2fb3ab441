"""The local stack's secrets: the service-to-service token, the retriever's admin token, Redis's
password and the API-key pepper. Made once per run dir (mode 0600), so keys created with one `up`
still work after the next; an environment variable of the same name wins over the stored value."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

# Field -> the environment variable that overrides it (the one the services read).
_ENVIRONMENT = {
    "service_token": "NINJARAG_SERVICE_TOKEN",
    "admin_token": "RETRIEVER_ADMIN_TOKEN",
    "redis_password": "NINJARAG_REDIS_PASSWORD",
    "api_key_pepper": "GATEWAY_API_KEY_PEPPER",
}


@dataclass(frozen=True)
class StackSecrets:
    service_token: str
    admin_token: str
    redis_password: str
    api_key_pepper: str

    @classmethod
    def load_or_create(cls, run_path: Path) -> StackSecrets:
        path = run_path / "secrets.json"
        try:
            stored = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            stored = {}
        values = {field: stored.get(field) or secrets.token_hex(32) for field in _ENVIRONMENT}
        if values != stored:
            run_path.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(json.dumps(values, indent=2) + "\n")
        return cls(**{field: os.environ.get(variable) or values[field] for field, variable in _ENVIRONMENT.items()})

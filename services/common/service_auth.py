"""Service-to-service authentication: every route but health, readiness and metrics requires
`Authorization: Bearer <NINJARAG_SERVICE_TOKEN>`; admin routes require the service's admin token
instead. Compared in constant time; tokens are never logged."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.errors import Forbidden, Unauthorized, send_problem

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
ADMIN_PREFIX = "/v1/admin/"


class ServiceAuthMiddleware:
    def __init__(self, app: ASGIApp, *, service_token: str, admin_token: str | None) -> None:
        self.app = app
        self.service_token = service_token.encode()
        self.admin_token = admin_token.encode() if admin_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(ADMIN_PREFIX):
            if self.admin_token is None:
                await send_problem(scope, receive, send, Forbidden("admin routes are off: this service has no admin token"))
                return
            required, hint = self.admin_token, "admin routes need `Authorization: Bearer <admin token>`"
        else:
            required, hint = self.service_token, "internal route: send `Authorization: Bearer <NINJARAG_SERVICE_TOKEN>`"
        presented = _bearer(dict(scope.get("headers") or []).get(b"authorization", b""))
        if presented is None or not hmac.compare_digest(presented, required):
            await send_problem(scope, receive, send, Unauthorized(hint))
            return
        await self.app(scope, receive, send)


def _bearer(header: bytes) -> bytes | None:
    scheme, _, token = header.partition(b" ")
    return token.strip() or None if scheme.lower() == b"bearer" else None

"""Request limits enforced before a body is parsed: its size (413), how long it may take to
arrive (408), and how deeply its JSON nests (422). A pure ASGI middleware, so an oversized or
slow body costs at most `max_body_bytes` of memory and `body_timeout_s` of a connection."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.errors import InvalidRequest, PayloadTooLarge, RequestTimeout, send_problem

_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Everything but brackets and quotes: what json_depth need not look at.
_NOT_STRUCTURE = bytes(set(range(256)) - set(b"[]{}\""))
_ESCAPED_QUOTE_OR_BACKSLASH = (b"\\\\", b"\\\"")


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (valid or not), in one pass."""
    for escape in _ESCAPED_QUOTE_OR_BACKSLASH:  # escaped quotes never open or close a string
        body = body.replace(escape, b"")
    deepest = depth = 0
    in_string = False
    for byte in body.translate(None, _NOT_STRUCTURE):
        if byte == 0x22:  # "
            in_string = not in_string
        elif in_string:
            continue
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


# Document uploads (POST /v1/collections/NAME/documents) take their own, larger limits.
UPLOAD_PATH_SUFFIX = "/documents"
UPLOAD_TIMEOUT_S = 300.0


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_json_depth: int, body_timeout_s: float,
                 max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        self.body_timeout_s = body_timeout_s
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODYLESS_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        upload = self.max_upload_bytes is not None and scope["path"].endswith(UPLOAD_PATH_SUFFIX)
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        timeout_s = max(self.body_timeout_s, UPLOAD_TIMEOUT_S) if upload else self.body_timeout_s
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > limit:
            await send_problem(scope, receive, send, self._too_large(limit))
            return
        try:
            body = await asyncio.wait_for(self._read_body(receive, limit), timeout_s)
        except TimeoutError:
            await send_problem(scope, receive, send, RequestTimeout(
                f"the request body did not arrive within {timeout_s:g} s"))
            return
        except _TooLarge:
            await send_problem(scope, receive, send, self._too_large(limit))
            return
        if b"json" in headers.get(b"content-type", b"") and json_depth(body) > self.max_json_depth:
            await send_problem(scope, receive, send, InvalidRequest(
                f"the JSON body nests deeper than {self.max_json_depth} levels; flatten it"))
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive, limit: int) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise TimeoutError  # nobody is left to answer; treated like a body that never came
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    def _too_large(limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(f"the request body is larger than {limit} bytes; send less")


class _TooLarge(Exception):
    pass


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, once; then whatever the client sends next (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed

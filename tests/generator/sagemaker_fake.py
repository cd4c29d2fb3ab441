"""A local stand-in for SageMaker that speaks its wire protocols, so the SageMaker engine runs the real
boto3 against it: every request's SigV4 signature is checked with the expected secret key,
DescribeEndpoint answers in the JSON 1.1 protocol, and InvokeEndpointWithResponseStream answers in the
AWS event-stream encoding (application/vnd.amazon.eventstream) with PayloadPart events, or a
ModelStreamError exception event, exactly as SageMaker frames a model's streamed response."""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import uvicorn
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tests.conftest import free_port

ACCESS_KEY, SECRET_KEY, REGION = "AKIDFAKESAGEMAKER", "fake-secret-key-for-the-local-sagemaker", "us-east-1"


def _header(name: str, value: str) -> bytes:
    encoded = value.encode()
    return bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(encoded)) + encoded


def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude (total and header lengths, CRC32), headers, payload, CRC32."""
    encoded_headers = b"".join(_header(name, value) for name, value in headers.items())
    prelude = struct.pack(">II", 16 + len(encoded_headers) + len(payload), len(encoded_headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded_headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def payload_part(piece: bytes) -> bytes:
    return event_message({":message-type": "event", ":event-type": "PayloadPart",
                          ":content-type": "application/octet-stream"}, piece)


def model_stream_error(message: str) -> bytes:
    return event_message({":message-type": "exception", ":exception-type": "ModelStreamError",
                          ":content-type": "application/json"},
                         json.dumps({"Message": message, "ErrorCode": "StreamBroken"}).encode())


def vllm_events(text_pieces: list[str], completion_tokens: int) -> bytes:
    """What vLLM's /invocations streams for a completions request."""
    chunks = [{"choices": [{"text": piece, "finish_reason": None}]} for piece in text_pieces]
    chunks[-1]["choices"][0]["finish_reason"] = "stop"
    chunks.append({"choices": [], "usage": {"completion_tokens": completion_tokens}})
    return ("".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n").encode()


def signature_problem(request: Request, body: bytes) -> str | None:
    """Recomputes the SigV4 signature from the signed headers with the known secret; None if it matches."""
    authorization = request.headers.get("authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        return "no SigV4 Authorization header"
    fields = dict(part.strip().split("=", 1) for part in authorization.removeprefix("AWS4-HMAC-SHA256 ").split(","))
    access_key, date, region, service, _ = fields["Credential"].split("/")
    if access_key != ACCESS_KEY:
        return f"unknown access key {access_key}"
    signed = fields["SignedHeaders"].split(";")
    rebuilt = AWSRequest(method=request.method, url=str(request.url), data=body,
                         headers={name: request.headers[name] for name in signed})
    rebuilt.context["timestamp"] = request.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, region)
    expected = signer.signature(signer.string_to_sign(rebuilt, signer.canonical_request(rebuilt)), rebuilt)
    return None if expected == fields["Signature"] else "The request signature we calculated does not match"


@dataclass
class FakeSageMaker:
    """Endpoints by name with their status; `respond(body)` gives the bytes the model streams and how
    to cut them into payload parts (a list of pieces), or an exception message to send mid-stream."""

    endpoints: dict[str, str] = field(default_factory=lambda: {"ninjarag-llama": "InService"})
    respond: Callable[[dict], list[bytes | str]] = lambda body: [vllm_events(["Paris", " [1]."], 3)]
    part_delay_s: float = 0.0
    received: list[dict] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/")
        async def control_plane(request: Request) -> Response:
            body = await request.body()
            if problem := signature_problem(request, body):
                return JSONResponse({"__type": "InvalidSignatureException", "message": problem}, status_code=403)
            name = json.loads(body)["EndpointName"]
            if name not in self.endpoints:
                return JSONResponse({"__type": "ValidationException", "message": f"Could not find endpoint {name}."},
                                    status_code=400)
            now = time.time()
            return JSONResponse({"EndpointName": name, "EndpointArn": f"arn:aws:sagemaker:{REGION}:0:endpoint/{name}",
                                 "EndpointConfigName": name, "EndpointStatus": self.endpoints[name],
                                 "CreationTime": now, "LastModifiedTime": now},
                                media_type="application/x-amz-json-1.1")

        @app.post("/endpoints/{name}/invocations-response-stream")
        async def invoke(name: str, request: Request) -> Response:
            body = await request.body()
            if problem := signature_problem(request, body):
                return JSONResponse({"message": problem}, status_code=403,
                                    headers={"x-amzn-ErrorType": "InvalidSignatureException"})
            if name not in self.endpoints:
                return JSONResponse({"message": f"Endpoint {name} of account 0 not found."}, status_code=400,
                                    headers={"x-amzn-ErrorType": "ValidationError"})
            sent = json.loads(body)
            self.received.append({"body": sent, "variant": request.headers.get("x-amzn-sagemaker-target-variant"),
                                  "inference_id": request.headers.get("x-amzn-sagemaker-inference-id")})
            return StreamingResponse(self._parts(sent, request.headers.get("x-amzn-sagemaker-inference-id", "")),
                                     media_type="application/vnd.amazon.eventstream",
                                     headers={"x-Amzn-Invoked-Production-Variant": "base"})

        return app

    async def _parts(self, body: dict, inference_id: str) -> AsyncIterator[bytes]:
        try:
            for piece in self.respond(body):
                if isinstance(piece, str):  # an error the model's stream breaks with
                    yield model_stream_error(piece)
                    return
                yield payload_part(piece)
                await asyncio.sleep(self.part_delay_s)
        except asyncio.CancelledError:
            self.aborted.append(inference_id)
            raise


class RunningFake:
    """The fake on a local port, in a thread, for the duration of a `with` block."""

    def __init__(self, fake: FakeSageMaker) -> None:
        self.fake = fake
        port = free_port()
        fake.url = f"http://127.0.0.1:{port}"
        self._server = uvicorn.Server(uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> FakeSageMaker:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        return self.fake

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

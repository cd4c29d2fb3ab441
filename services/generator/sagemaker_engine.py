"""A SageMaker real-time endpoint as the engine, as the paper deploys the model: vLLM's SageMaker
route (/invocations) takes the same completions body as /v1/completions, and SageMaker returns its
server-sent events in payload parts through InvokeEndpointWithResponseStream. boto3 signs with SigV4
from the standard credential chain (environment, profile, web identity on EKS, instance role).

boto3 blocks, so each call runs in this engine's own thread pool, sized for every admitted request:
a stream waiting for its next part holds one thread. Closing the stream closes the connection, and
SageMaker stops the model's response."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.common.errors import UpstreamError
from services.generator.completions import SseDataLines, completion_body, deltas_from_events
from services.generator.engine import Delta, Sampling


class SageMakerEngine:
    def __init__(self, endpoint_name: str, model_name: str, timeout_s: float, max_streams: int,
                 region: str | None = None, endpoint_url: str | None = None,
                 target_variant: str | None = None) -> None:
        self.model_name = model_name
        self.endpoint_name = endpoint_name
        self._target_variant = target_variant
        self._streams = 0
        self._threads = ThreadPoolExecutor(max_workers=max_streams, thread_name_prefix="sagemaker")
        # No retries inside a stream: the gateway decides what a failed answer becomes.
        config = Config(connect_timeout=5, read_timeout=timeout_s, retries={"total_max_attempts": 1},
                        max_pool_connections=max_streams)
        session = boto3.session.Session(region_name=region)
        self._runtime = session.client("sagemaker-runtime", endpoint_url=endpoint_url, config=config)
        self._control = session.client("sagemaker", endpoint_url=endpoint_url, config=config)

    async def start(self) -> None:
        """Ready once the endpoint is InService (needs sagemaker:DescribeEndpoint)."""
        description = await self._call(self._control.describe_endpoint, EndpointName=self.endpoint_name)
        status = description.get("EndpointStatus")
        if status != "InService":
            raise UpstreamError(f"SageMaker endpoint {self.endpoint_name!r} is {status}, not InService")

    async def stream(self, request_id: str, prompt_token_ids: list[int], sampling: Sampling) -> AsyncIterator[Delta]:
        request = {"EndpointName": self.endpoint_name, "ContentType": "application/json",
                   "Accept": "text/event-stream", "InferenceId": request_id[:64],
                   "Body": json.dumps(completion_body(self.model_name, prompt_token_ids, sampling))}
        if self._target_variant:
            request["TargetVariant"] = self._target_variant
        self._streams += 1
        response = None
        try:
            response = await self._call(self._runtime.invoke_endpoint_with_response_stream, **request)
            async for delta in deltas_from_events(self._events(response["Body"])):
                yield delta
        finally:
            self._streams -= 1
            if response is not None:
                response["Body"].close()

    async def _events(self, body) -> AsyncIterator[str]:  # noqa: ANN001 (botocore's EventStream)
        lines, parts = SseDataLines(), iter(body)
        while (event := await self._call(next, parts, None)) is not None:
            for data in lines.feed(event.get("PayloadPart", {}).get("Bytes", b"")):
                yield data

    async def _call(self, function, *args, **kwargs):  # noqa: ANN001, ANN202
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._threads, lambda: function(*args, **kwargs))
        except ClientError as error:
            details = error.response.get("Error", {})
            raise UpstreamError(f"SageMaker endpoint {self.endpoint_name!r}: {details.get('Code')}: "
                                f"{details.get('Message', '')[:300]}") from error
        except BotoCoreError as error:  # no credentials, connection failed, broken event stream
            raise UpstreamError(f"SageMaker endpoint {self.endpoint_name!r}: {error}") from error

    def unfinished_requests(self) -> int:
        return self._streams

    async def shutdown(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

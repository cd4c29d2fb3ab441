"""The SageMaker engine against a local fake that speaks SageMaker's wire protocols: real boto3, real
SigV4 signatures (checked by the fake), the real event-stream framing."""

import asyncio
import json
import time

import pytest

from services.common.errors import UpstreamError
from services.generator.completions import SseDataLines
from services.generator.engine import Sampling
from services.generator.engines import build_engine
from services.generator.settings import GeneratorSettings
from tests.generator.sagemaker_fake import ACCESS_KEY, REGION, SECRET_KEY, FakeSageMaker, RunningFake, vllm_events

SAMPLING = Sampling(max_tokens=8, temperature=0.0, seed=7)


@pytest.fixture
def credentials(monkeypatch):
    """The standard credential chain's first link: the environment (no profile files are read)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def engine_for(fake: FakeSageMaker, **settings):
    values = dict(engine="sagemaker", sagemaker_endpoint="ninjarag-llama", sagemaker_region=REGION,
                  sagemaker_endpoint_url=fake.url, model_name="llama-3-8b-instruct") | settings
    return build_engine(GeneratorSettings(**values))


def run(fake: FakeSageMaker, **settings) -> list:
    async def go() -> list:
        engine = engine_for(fake, **settings)
        try:
            await engine.start()
            return [delta async for delta in engine.stream("request-1", [1, 2, 3], SAMPLING)]
        finally:
            await engine.shutdown()
    return asyncio.run(go())


def test_a_streamed_answer_arrives_whole_from_payload_parts_cut_anywhere(credentials):
    stream = vllm_events(["The capital", " is Paris", " [1]."], 5)
    # SageMaker cuts the model's bytes where it likes: mid-line, mid-JSON, mid-UTF-8 sequence is not
    # possible (the model's bytes are ASCII JSON here), so cut every 7 bytes.
    fake = FakeSageMaker(respond=lambda body: [stream[i:i + 7] for i in range(0, len(stream), 7)])
    with RunningFake(fake):
        deltas = run(fake, sagemaker_target_variant="tuned")
    assert "".join(d.text for d in deltas) == "The capital is Paris [1]."
    assert deltas[-1].finish_reason == "stop" and deltas[-1].completion_tokens == 5
    sent = fake.received[0]
    assert sent["body"]["prompt"] == [1, 2, 3] and sent["body"]["stream"] is True and sent["body"]["seed"] == 7
    assert sent["body"]["model"] == "llama-3-8b-instruct"
    assert sent["variant"] == "tuned" and sent["inference_id"] == "request-1"


def test_a_wrong_secret_is_refused_by_the_signature_check(credentials, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with RunningFake(FakeSageMaker()) as fake, pytest.raises(UpstreamError, match="signature"):
        run(fake)


def test_an_endpoint_that_is_not_in_service_or_missing_is_a_clear_error(credentials):
    with RunningFake(FakeSageMaker(endpoints={"ninjarag-llama": "Creating"})) as fake:
        with pytest.raises(UpstreamError, match="'ninjarag-llama' is Creating, not InService"):
            run(fake)
        with pytest.raises(UpstreamError, match="Could not find endpoint other"):
            run(fake, sagemaker_endpoint="other")


def test_a_model_stream_error_mid_answer_is_an_upstream_error(credentials):
    fake = FakeSageMaker(respond=lambda body: [b'data: {"choices": [{"text": "Par"}]}\n\n', "the model stopped"])
    with RunningFake(fake), pytest.raises(UpstreamError, match="ModelStreamError"):
        run(fake)


def test_closing_the_stream_early_closes_the_connection_and_the_fake_stops_sending(credentials):
    pieces = [json.dumps({"choices": [{"text": f" w{i}"}]}).join(["data: ", "\n\n"]).encode() for i in range(200)]
    fake = FakeSageMaker(respond=lambda body: pieces, part_delay_s=0.01)

    async def first_two() -> tuple[list, int]:
        engine = engine_for(fake)
        try:
            deltas = []
            stream = engine.stream("request-2", [1], SAMPLING)
            async for delta in stream:
                deltas.append(delta)
                if len(deltas) == 2:
                    break
            await stream.aclose()
            return deltas, engine.unfinished_requests()
        finally:
            await engine.shutdown()

    with RunningFake(fake):
        deltas, unfinished = asyncio.run(first_two())
        deadline = time.monotonic() + 5
        while not fake.aborted and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [d.text for d in deltas] == [" w0", " w1"] and unfinished == 0
    assert fake.aborted == ["request-2"]


def test_missing_credentials_name_the_problem(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with RunningFake(FakeSageMaker()) as fake, pytest.raises(UpstreamError, match="Unable to locate credentials"):
        run(fake)


def test_the_engine_needs_an_endpoint_name():
    with pytest.raises(ValueError, match="GENERATOR_SAGEMAKER_ENDPOINT"):
        GeneratorSettings(engine="sagemaker")


def test_stream_lines_split_anywhere_are_reassembled_and_the_work_is_linear():
    stream = vllm_events(["a"] * 50, 50)
    lines = SseDataLines()
    pieces = [lines.feed(stream[i:i + 1]) for i in range(len(stream))]
    assert [data for piece in pieces for data in piece][-1] == "[DONE]"
    # A huge line without a newline, fed in small pieces, costs linear time and then stops the stream.
    timings = []
    for size in (1 << 17, 1 << 19):
        lines = SseDataLines(max_line_bytes=size)
        started = time.perf_counter()
        with pytest.raises(UpstreamError, match="over"):
            for _ in range(size // 64 + 1):
                lines.feed(b"x" * 64)
        timings.append(time.perf_counter() - started)
    assert timings[1] < timings[0] * 8 + 0.05  # 4x the bytes: about 4x the time, not 16x

"""The generator as a real server (vLLM on the CPU, the local model), started once per session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import NamedTuple

import httpx
import pytest

from services.common.paths import REPO_ROOT
from tests.conftest import free_port

MAX_NUM_SEQS = 4
STREAM_INTERVAL = 4


class GeneratorServer(NamedTuple):
    url: str
    pid: int


@pytest.fixture(scope="session")
def tokenizer(home):
    from services.generator.model_folder import load_tokenizer

    return load_tokenizer(home.small_model)


@pytest.fixture(scope="session")
def generator_server(tmp_path_factory, home):
    port = free_port()
    env = {
        **os.environ,
        # SmolLM2, quick to load and to answer; the stack tests serve the default model.
        "GENERATOR_MODEL": home.small_model.name,
        "GENERATOR_PORT": str(port),
        "GENERATOR_ENFORCE_EAGER": "true",  # starts in ~20 s instead of compiling for ~70 s
        "GENERATOR_MAX_NUM_SEQS": str(MAX_NUM_SEQS),
        "GENERATOR_MAX_QUEUED": "0",  # admission limit = MAX_NUM_SEQS, for the 503 test
        "GENERATOR_STREAM_INTERVAL": str(STREAM_INTERVAL),
        "GENERATOR_CPU_THREADS": str(os.cpu_count() or 1),
        "GENERATOR_LOG_LEVEL": "WARNING",
    }
    log = (tmp_path_factory.mktemp("generator") / "generator.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "services.generator"], env=env, cwd=REPO_ROOT,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the generator did not become ready; see {log.name}")
        time.sleep(0.5)
    yield GeneratorServer(url, process.pid)
    process.terminate()
    process.wait(timeout=60)


@pytest.fixture(scope="session")
def generator_url(generator_server):
    return generator_server.url

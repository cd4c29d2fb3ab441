"""The whole local stack, started once for the stack tests (`running`), and the helpers they share."""

import os

import httpx
import psutil
import pytest

from ninjarag import stack
from ninjarag.settings import StackSettings
from tests.conftest import free_port
from tests.helpers import sse_events

QUESTION = "Who directed the film 2001: A Space Odyssey?"


def stack_settings(run_dir) -> StackSettings:
    return StackSettings(run_dir=run_dir, gateway_port=free_port(), retriever_port=free_port(),
                         generator_port=free_port(), guard_port=free_port(), redis_port=free_port(),
                         ready_timeout_s=300)


def stack_env(settings: StackSettings) -> dict[str, str]:
    return {**os.environ, "NINJARAG_RUN_DIR": str(settings.run_path), "NINJARAG_GATEWAY_PORT": str(settings.gateway_port),
            "NINJARAG_REDIS_PORT": str(settings.redis_port), "NINJARAG_GUARD_PORT": str(settings.guard_port)}


@pytest.fixture(scope="package")
def running(tmp_path_factory):
    os.environ["GENERATOR_ENFORCE_EAGER"] = "true"  # the engine starts in ~20 s instead of compiling
    os.environ["RETRIEVER_COLLECTIONS_ROOT"] = str(tmp_path_factory.mktemp("collections"))
    settings = stack_settings(tmp_path_factory.mktemp("run"))
    reports = []
    progs = stack.up(settings, reports.append)
    yield settings, progs, reports
    stack.down(settings)


def process_tree(settings: StackSettings) -> list[int]:
    root = psutil.Process(stack.supervisord_pid(settings))
    return [root.pid, *(child.pid for child in root.children(recursive=True))]


def answer(settings: StackSettings, key: str, question: str = QUESTION) -> list[tuple[str, dict]]:
    with httpx.stream("POST", f"{settings.gateway_url}/v1/answer", json={"question": question, "top_k": 5},
                      headers={"Authorization": f"Bearer {key}"}, timeout=300) as response:
        assert response.status_code == 200, response.read()
        return sse_events(response.iter_lines())

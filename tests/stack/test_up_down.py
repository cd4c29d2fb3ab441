"""The whole local stack: `up` brings Redis and the four services to ready; `down` leaves nothing behind."""

import httpx
import psutil
import pytest
import redis

from ninjarag import stack
from ninjarag.errors import UserError
from ninjarag.settings import StackSettings
from tests.conftest import free_port


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return StackSettings(
        run_dir=tmp_path_factory.mktemp("run"),
        gateway_port=free_port(),
        retriever_port=free_port(),
        generator_port=free_port(),
        guard_port=free_port(),
        redis_port=free_port(),
        ready_timeout_s=300,
    )


def _processes_under(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def test_up_then_down(settings):
    reports = []
    progs = stack.up(settings, reports.append)
    try:
        assert sorted(line.split()[0] for line in reports) == ["gateway", "generator", "guard", "redis", "retriever"]
        pids = [process.pid for process in _processes_under(stack.supervisord_pid(settings))]
        assert len(pids) >= 6  # supervisord + redis + four services

        assert redis.Redis(port=settings.redis_port).ping()
        for prog in progs:
            if prog.name == "redis":
                continue
            body = httpx.get(f"{prog.url(settings.host)}/readyz").json()
            assert body["ready"] is True, body
        gateway_ready = httpx.get(f"{settings.gateway_url}/readyz").json()
        assert gateway_ready["checks"]["redis"].startswith("ok: redis ")

        with pytest.raises(UserError, match="already running"):
            stack.up(settings, reports.append)
        for prog in progs:
            assert (settings.run_path / "logs" / f"{prog.name}.log").is_file()
    finally:
        assert stack.down(settings) is True

    alive = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"processes left behind: {alive}"
    assert stack.supervisord_pid(settings) is None
    for prog in progs:
        assert not stack._port_in_use(settings.host, prog.port)  # noqa: SLF001
    assert stack.down(settings) is False


def test_up_stops_at_once_when_a_service_cannot_become_ready(monkeypatch, tmp_path):
    settings = StackSettings(
        run_dir=tmp_path / "run", gateway_port=free_port(), retriever_port=free_port(),
        generator_port=free_port(), guard_port=free_port(), redis_port=free_port(),
    )
    monkeypatch.setenv("RETRIEVER_INDEX_DIR", str(tmp_path / "no-index"))
    with pytest.raises(UserError, match=r"retriever cannot become ready: index: failed: no index at .*no-index"):
        stack.up(settings, lambda line: None)
    assert stack.supervisord_pid(settings) is None

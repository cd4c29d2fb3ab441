"""The local stack's program list and its readiness wait (no process is started)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ninjarag import stack, stack_programs
from ninjarag.settings import StackSettings


def test_a_compare_model_adds_a_second_generator_and_a_gateway_in_front_of_it(tmp_path):
    settings = StackSettings(home=tmp_path, run_dir=tmp_path / "run", compare_model="smollm2-135m-nq-v1")
    by_name = {prog.name: prog for prog in stack_programs.programs(settings)}
    generator, gateway = by_name["generator-compare"], by_name["gateway-compare"]
    assert generator.port == settings.generator_port + 10 and gateway.port == settings.gateway_port + 10
    assert generator.environment["GENERATOR_MODEL"] == "smollm2-135m-nq-v1"
    assert generator.command == by_name["generator"].command and generator.env_name == "generator"
    assert gateway.environment["GATEWAY_GENERATOR_URL"] == f"http://{settings.host}:{generator.port}"
    # Everything else is shared: the same retriever, guard, Redis and secrets.
    for name in ("GATEWAY_RETRIEVER_URL", "GATEWAY_GUARD_URL", "GATEWAY_REDIS_URL", "GATEWAY_API_KEY_PEPPER"):
        assert gateway.environment[name] == by_name["gateway"].environment[name]


def test_the_compare_gateway_may_pack_passages_its_own_way(tmp_path):
    settings = StackSettings(home=tmp_path, run_dir=tmp_path / "run", compare_model="m", compare_packing="latency")
    by_name = {prog.name: prog for prog in stack_programs.programs(settings)}
    assert by_name["gateway-compare"].environment["GATEWAY_PACKING"] == "latency"
    assert "GATEWAY_PACKING" not in by_name["gateway"].environment  # the first keeps the default (or the shell's)


def test_several_compare_models_each_get_a_generator_and_gateway_further_along(tmp_path):
    settings = StackSettings(home=tmp_path, run_dir=tmp_path / "run", compare_model="a,b.c-1")
    by_name = {prog.name: prog for prog in stack_programs.programs(settings)}
    assert by_name["generator-compare"].environment["GENERATOR_MODEL"] == "a"
    assert by_name["generator-compare2"].environment["GENERATOR_MODEL"] == "b.c-1"
    assert by_name["generator-compare2"].port == settings.generator_port + 20
    assert by_name["gateway-compare2"].port == settings.gateway_port + 20
    assert by_name["gateway-compare2"].environment["GATEWAY_GENERATOR_URL"].endswith(f":{settings.generator_port + 20}")


def test_a_bad_compare_model_list_is_refused(tmp_path):
    for bad in ("a,", ",a", "a,,b", "a,b,c,d", "a b", "../x"):
        with pytest.raises(ValidationError):
            StackSettings(home=tmp_path, compare_model=bad)


def test_without_a_compare_model_the_stack_runs_redis_and_the_four_services(tmp_path):
    settings = StackSettings(home=tmp_path, run_dir=tmp_path / "run")
    assert [prog.name for prog in stack_programs.programs(settings)] == ["redis", "retriever", "generator", "guard", "gateway"]


def test_up_says_what_it_still_waits_for(tmp_path, monkeypatch):
    settings = StackSettings(home=tmp_path, run_dir=tmp_path / "run", ready_timeout_s=30)
    generator = next(prog for prog in stack_programs.programs(settings) if prog.name == "generator")
    answers = iter([stack.Readiness(False, waiting_on="model: loading")] * 2 + [stack.Readiness(True)])
    monkeypatch.setattr(stack, "_readiness", lambda prog, settings: next(answers))
    monkeypatch.setattr(stack, "program_states", lambda settings: {"generator": "RUNNING"})
    monkeypatch.setattr(stack, "WAITING_REPORT_S", 0.0)
    monkeypatch.setattr(stack.time, "sleep", lambda seconds: None)
    reports = []
    stack._wait_until_ready(settings, [generator], reports.append)  # noqa: SLF001
    assert reports[0].startswith("waiting ") and reports[0].endswith("for: generator (model: loading)")
    assert reports[-1].startswith("generator ready after")

"""What `ninjarag up` runs: Redis and the four services (and, to compare two models, a second
generator and gateway), each with its command, port and environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ninjarag import envs, system
from ninjarag.settings import StackSettings


@dataclass(frozen=True)
class Program:
    name: str
    port: int
    command: str
    environment: dict[str, str]
    service: str = ""  # whose environment runs it: the name, unless a second copy of a service

    @property
    def env_name(self) -> str:
        return self.service or self.name

    def url(self, host: str) -> str:
        return f"redis://{host}:{self.port}" if self.name == "redis" else f"http://{host}:{self.port}"


# Cached answers and rate-limit buckets carry a TTL and may be evicted under memory pressure; API keys
# carry none, so `volatile-lru` can never evict one (writes fail instead). AOF keeps keys, revocations
# and limits across a Redis restart.
REDIS_MAXMEMORY = "256mb"


def redis_config(settings: StackSettings) -> str:
    return (f"bind {settings.host}\nport {settings.redis_port}\ndir {settings.run_path / 'redis'}\n"
            f"requirepass {settings.secrets.redis_password}\nprotected-mode yes\n"
            "appendonly yes\nappendfsync everysec\nsave 60 1\n"
            f"maxmemory {REDIS_MAXMEMORY}\nmaxmemory-policy volatile-lru\n")


def programs(settings: StackSettings) -> list[Program]:
    home, host = settings.paths, settings.host
    secrets = settings.secrets
    service_ports = {
        "retriever": settings.retriever_port,
        "generator": settings.generator_port,
        "guard": settings.guard_port,
        "gateway": settings.gateway_port,
    }
    common_env = {"NINJARAG_HOME": str(home.root), "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1",
                  "NINJARAG_SERVICE_TOKEN": secrets.service_token}
    result = [
        Program(
            "redis",
            settings.redis_port,
            f"{system.redis_server_binary() or 'redis-server'} {settings.run_path / 'redis.conf'}",
            {},
        )
    ]
    for name, port in service_ports.items():
        prefix = name.upper()
        env = {**common_env, f"{prefix}_HOST": host, f"{prefix}_PORT": str(port)}
        if name == "retriever":
            env["RETRIEVER_ADMIN_TOKEN"] = secrets.admin_token
        if name == "gateway":
            env |= {
                "GATEWAY_REDIS_URL": settings.redis_url,
                "GATEWAY_API_KEY_PEPPER": secrets.api_key_pepper,
                # A loopback stack for development: `ninjarag eval` may compare guarded and unguarded answers,
                # and one key (the demo key evaluations and benchmarks use) may spend the machine's whole
                # token throughput.
                "GATEWAY_ALLOW_UNGUARDED": os.environ.get("GATEWAY_ALLOW_UNGUARDED", "true"),
                "GATEWAY_TOKENS_PER_MINUTE_PER_KEY": os.environ.get("GATEWAY_TOKENS_PER_MINUTE_PER_KEY", "1000000"),
                **{f"GATEWAY_{up.upper()}_URL": f"http://{host}:{p}" for up, p in service_ports.items() if up != "gateway"},
            }
        result.append(Program(name, port, f"{envs.python_of(home, name)} -m services.{name}", env))
    for number, model in enumerate(settings.compare_models, start=1):
        result += comparison_programs(settings, result, model, number)
    return result


def comparison_programs(settings: StackSettings, progs: list[Program], model: str, number: int) -> list[Program]:
    """Another generator serving one of NINJARAG_COMPARE_MODEL's models and another gateway in front of
    it (ports + number x the offset), sharing Redis, the retriever, the guard and the keys: `ninjarag
    eval --gateway` compares the models on the same retrieval in one run."""
    by_name = {prog.name: prog for prog in progs}
    offset, host = settings.compare_port_offset * number, settings.host
    suffix = "" if number == 1 else str(number)
    generator_port, gateway_port = settings.generator_port + offset, settings.gateway_port + offset
    generator_env = {**by_name["generator"].environment, "GENERATOR_PORT": str(generator_port),
                     "GENERATOR_MODEL": model}
    gateway_env = {**by_name["gateway"].environment, "GATEWAY_PORT": str(gateway_port),
                   "GATEWAY_GENERATOR_URL": f"http://{host}:{generator_port}"}
    if settings.compare_packing:
        gateway_env["GATEWAY_PACKING"] = settings.compare_packing
    return [Program(f"generator-compare{suffix}", generator_port, by_name["generator"].command, generator_env, "generator"),
            Program(f"gateway-compare{suffix}", gateway_port, by_name["gateway"].command, gateway_env, "gateway")]

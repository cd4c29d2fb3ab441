"""What the CPU offers: how many CPUs this process may really use (the container's CPU quota, cgroup
v2 `cpu.max`, as Kubernetes sets from a pod's limit, else the CPUs it is pinned to, not the node's
core count), and whether it computes bf16 natively."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
CPUINFO = Path("/proc/cpuinfo")


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return max(1, cpus)
    if quota == "max":
        return max(1, cpus)
    return max(1, min(cpus, math.ceil(int(quota) / int(period))))


def has_native_bf16(cpuinfo: Path = CPUINFO) -> bool:
    """AVX512-BF16 or AMX-BF16: without either, bf16 matrix products are emulated (several times
    slower than fp32: MiniLM encoding 3.6 vs 21.7 passages/s on an AVX2-only EPYC)."""
    try:
        flags = next((line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags

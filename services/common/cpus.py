"""How many CPUs this process may really use: the container's CPU quota (cgroup v2 `cpu.max`, as
Kubernetes sets from a pod's limit), else the CPUs it is pinned to, not the node's core count."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return max(1, cpus)
    if quota == "max":
        return max(1, cpus)
    return max(1, min(cpus, math.ceil(int(quota) / int(period))))

"""CPU facts from the container's point of view: its CPU quota, and native bf16."""

from services.common.cpus import available_cpus, has_native_bf16


def test_a_cpu_quota_caps_the_cpus_a_service_sizes_itself_for(tmp_path):
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n")  # a pod limited to 1.5 CPUs
    assert available_cpus(cpu_max) == min(2, available_cpus(tmp_path / "absent"))
    cpu_max.write_text("max 100000\n")  # no limit: the CPUs this process may run on
    assert available_cpus(cpu_max) == available_cpus(tmp_path / "absent") >= 1


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n")
    assert has_native_bf16(cpuinfo) is False
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n")
    assert has_native_bf16(cpuinfo) is True
    assert has_native_bf16(tmp_path / "absent") is False

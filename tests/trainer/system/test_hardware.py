"""detect_hardware: real on this Linux machine, canned command output for macOS, a fake /proc for cgroups."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import pytest

from services.trainer.system.hardware import Hardware, detect_hardware, parse_meminfo, parse_vm_stat

MEMINFO = """MemTotal:       16384000 kB
MemFree:         1024000 kB
MemAvailable:    8192000 kB
Buffers:          100000 kB
Cached:          4000000 kB
"""
VM_STAT = """Mach Virtual Memory Statistics: (page size of 16384 bytes)
Pages free:                               20000.
Pages active:                            400000.
Pages inactive:                          300000.
Pages speculative:                         5000.
Pages throttled:                              0.
Pages wired down:                        150000.
Pages purgeable:                          10000.
"Translation faults":                 987654321.
Pages copy-on-write:                    1234567.
"""
SYSCTL = {
    ("sysctl", "-n", "hw.memsize"): "34359738368\n",
    ("sysctl", "-n", "machdep.cpu.brand_string"): "Apple M2 Pro\n",
    ("sysctl", "-n", "hw.ncpu"): "12\n",
    ("vm_stat",): VM_STAT,
}


def canned(command: list[str]) -> str:
    return SYSCTL[tuple(command)]


@pytest.mark.skipif(platform.system() != "Linux", reason="reads this Linux machine")
def test_this_linux_machine() -> None:
    hw = detect_hardware()
    assert hw.os == "linux" and hw.machine == platform.machine()
    assert hw.cpu_count >= 1 and hw.cpu_count <= (os.cpu_count() or 1)
    assert 0 < hw.available_memory_bytes <= hw.total_memory_bytes
    assert hw.memory_source in ("meminfo", "cgroup")
    assert hw.mlx_device == "cpu" and hw.metal_available is False and not hw.unified_memory
    assert "CPUs" in hw.describe() and "GB RAM" in hw.describe()
    assert Hardware(**hw.to_dict()) == hw


def test_parse_meminfo() -> None:
    assert parse_meminfo(MEMINFO) == (16384000 * 1024, 8192000 * 1024)
    old_kernel = "MemTotal: 1000 kB\nMemFree: 100 kB\nCached: 300 kB\n"
    assert parse_meminfo(old_kernel) == (1000 * 1024, 400 * 1024)


def test_macos_from_sysctl_and_vm_stat() -> None:
    assert parse_vm_stat(VM_STAT) == (20000 + 300000 + 5000 + 10000) * 16384
    hw = detect_hardware(system="Darwin", machine="arm64", run=canned, with_mlx=False)
    assert (hw.os, hw.machine, hw.chip, hw.cpu_count) == ("darwin", "arm64", "Apple M2 Pro", 12)
    assert hw.total_memory_bytes == 32 * 1024**3 and hw.unified_memory and hw.memory_source == "sysctl"
    assert hw.available_memory_bytes == (20000 + 300000 + 5000 + 10000) * 16384
    assert "unified memory" in hw.describe()


def test_macos_falls_back_when_sysctl_fails() -> None:
    def failing(command: list[str]) -> str:
        raise subprocess.CalledProcessError(1, command)

    hw = detect_hardware(system="darwin", machine="arm64", run=failing, with_mlx=False)
    assert hw.memory_source == "psutil" and hw.total_memory_bytes > 0


def test_linux_container_limits(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/meminfo").write_text(MEMINFO)
    (tmp_path / "proc/cpuinfo").write_text("processor\t: 0\nmodel name\t: Test CPU 9000\n")
    cgroup = tmp_path / "sys/fs/cgroup"
    cgroup.mkdir(parents=True)
    (cgroup / "memory.max").write_text(f"{4 * 1024**3}\n")
    (cgroup / "memory.current").write_text(f"{1024**3}\n")
    (cgroup / "cpu.max").write_text("100000 100000\n")
    hw = detect_hardware(system="linux", machine="x86_64", root=tmp_path, with_mlx=False)
    assert (hw.total_memory_bytes, hw.available_memory_bytes) == (4 * 1024**3, 3 * 1024**3)
    assert (hw.memory_source, hw.cpu_count, hw.chip) == ("cgroup", 1, "Test CPU 9000")
    (cgroup / "memory.max").write_text("max\n")
    (cgroup / "cpu.max").write_text("max 100000\n")
    hw = detect_hardware(system="linux", machine="x86_64", root=tmp_path, with_mlx=False)
    assert (hw.total_memory_bytes, hw.memory_source) == (16384000 * 1024, "meminfo")
    assert hw.available_memory_bytes == 8192000 * 1024


def test_other_systems_use_psutil() -> None:
    hw = detect_hardware(system="FreeBSD", machine="amd64", with_mlx=False)
    assert hw.os == "freebsd" and hw.memory_source == "psutil" and hw.total_memory_bytes > 0

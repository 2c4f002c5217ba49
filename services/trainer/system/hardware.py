"""The machine a trainer runs on: OS, CPUs, memory (cgroup limits included) and what MLX sees.

Linux reads /proc and /sys (a container's cgroup limit is the memory it really has); macOS asks `sysctl` and
`vm_stat`; anything else, or a failed read, falls back to psutil when it is importable.
"""

from __future__ import annotations

import math
import os
import platform
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import NotRequired, TypedDict

from shared.errors import ConfigError
from shared.schemas.hardware import DeviceInfo
from shared.schemas.hardware import Hardware as Hardware  # its home before it became a shared schema

Runner = Callable[[list[str]], str]
UNLIMITED = 1 << 60  # cgroup v1 reports "no limit" as a huge number near 2**63


class _HostFacts(TypedDict):
    """What the OS tells about memory and CPUs."""

    total_memory_bytes: int
    available_memory_bytes: int
    memory_source: str
    cpu_count: int
    chip: NotRequired[str | None]
    unified_memory: NotRequired[bool]


class _MlxFacts(TypedDict, total=False):
    """What MLX tells about its device; nothing when MLX is not installed."""

    mlx_device: str
    metal_available: bool
    device_info: DeviceInfo
    gpu_working_set_bytes: int | None


def _run(command: list[str]) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=10).stdout


def parse_meminfo(text: str) -> tuple[int, int]:
    """(MemTotal, MemAvailable) in bytes from /proc/meminfo; MemFree + Cached on kernels before 3.14."""
    found = re.finditer(r"^(\w+):\s+(\d+)\s*kB", text, re.MULTILINE)
    values = {m.group(1): int(m.group(2)) * 1024 for m in found}
    total = values["MemTotal"]
    available = values.get("MemAvailable", values.get("MemFree", 0) + values.get("Cached", 0))
    return total, min(available, total)


def parse_vm_stat(text: str) -> int:
    """Bytes macOS could hand out now: free, inactive, speculative and purgeable pages, from `vm_stat`."""
    page = re.search(r"page size of (\d+) bytes", text)
    page_size = int(page.group(1)) if page else 16384
    found = re.finditer(r"^([^:\n]+):\s+(\d+)\.?$", text, re.MULTILINE)
    pages = {m.group(1).strip().lower(): int(m.group(2)) for m in found}
    reclaimable = ("pages free", "pages inactive", "pages speculative", "pages purgeable")
    free = sum(pages.get(k, 0) for k in reclaimable)
    return free * page_size


def _cgroup_memory(root: Path) -> tuple[int | None, int | None]:
    """(limit, usage) of this process's memory cgroup, v2 then v1; None where unlimited or unknown."""
    for limit_file, usage_file in (
        ("sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory.current"),
        ("sys/fs/cgroup/memory/memory.limit_in_bytes", "sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            raw = (root / limit_file).read_text().strip()
        except OSError:
            continue
        if raw == "max" or not raw.isdigit() or int(raw) >= UNLIMITED:
            return None, None
        try:
            usage = int((root / usage_file).read_text().strip())
        except (OSError, ValueError):
            usage = None
        return int(raw), usage
    return None, None


def _cgroup_cpus(root: Path) -> int | None:
    try:
        quota, period = (root / "sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else max(1, math.ceil(int(quota) / int(period)))


def _linux(root: Path) -> _HostFacts:
    total, available = parse_meminfo((root / "proc/meminfo").read_text())
    source = "meminfo"
    limit, usage = _cgroup_memory(root)
    if limit is not None and limit < total:
        total, source = limit, "cgroup"
        available = min(available, max(0, limit - (usage or 0)))
    try:
        cpus = len(os.sched_getaffinity(0)) if root == Path("/") else os.cpu_count() or 1
    except AttributeError:
        cpus = os.cpu_count() or 1
    cpus = min(cpus, _cgroup_cpus(root) or cpus)
    chip = None
    try:
        found = re.search(r"^model name\s*:\s*(.+)$", (root / "proc/cpuinfo").read_text(), re.MULTILINE)
        chip = found.group(1).strip() if found else None
    except OSError:
        pass
    return {
        "total_memory_bytes": total,
        "available_memory_bytes": available,
        "memory_source": source,
        "cpu_count": cpus,
        "chip": chip,
    }


def _darwin(run: Runner, machine: str) -> _HostFacts:
    total = int(run(["sysctl", "-n", "hw.memsize"]).strip())
    available = min(total, parse_vm_stat(run(["vm_stat"])))
    chip = run(["sysctl", "-n", "machdep.cpu.brand_string"]).strip() or None
    cpus = int(run(["sysctl", "-n", "hw.ncpu"]).strip())
    return {
        "total_memory_bytes": total,
        "available_memory_bytes": available,
        "memory_source": "sysctl",
        "cpu_count": cpus,
        "chip": chip,
        "unified_memory": machine == "arm64" or (chip or "").startswith("Apple"),
    }


def _fallback() -> _HostFacts:
    try:
        import psutil
    except ImportError:
        try:
            total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError) as exc:
            raise ConfigError(
                "cannot tell this machine's memory (no /proc/meminfo, sysctl or psutil); "
                "set the trainer's memory_budget_gb"
            ) from exc
        # Without psutil there is no portable "available": assume what is not the OS's is free.
        return {
            "total_memory_bytes": total,
            "available_memory_bytes": total,
            "memory_source": "sysconf",
            "cpu_count": os.cpu_count() or 1,
        }
    memory = psutil.virtual_memory()
    return {
        "total_memory_bytes": int(memory.total),
        "available_memory_bytes": int(memory.available),
        "memory_source": "psutil",
        "cpu_count": os.cpu_count() or 1,
    }


def _mlx() -> _MlxFacts:
    """MLX's default device, Metal, and its device info; empty when MLX is not installed."""
    try:
        import mlx.core as mx
    except ImportError:
        return {}
    metal = getattr(mx, "metal", None)
    available = bool(metal is not None and metal.is_available())
    info_fn = getattr(mx, "device_info", None) or (getattr(metal, "device_info", None) if available else None)
    try:
        raw = dict(info_fn()) if info_fn else {}
    except RuntimeError:
        raw = {}
    info: DeviceInfo = {k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in raw.items()}
    working_set = info.get("max_recommended_working_set_size")
    return {
        "mlx_device": "gpu" if mx.default_device().type == mx.gpu else "cpu",
        "metal_available": available,
        "device_info": info,
        "gpu_working_set_bytes": int(working_set) if available and working_set else None,
    }


def detect_hardware(
    *,
    system: str | None = None,
    machine: str | None = None,
    run: Runner = _run,
    root: Path = Path("/"),
    with_mlx: bool = True,
) -> Hardware:
    """Describe this machine. `system`, `machine`, `run` and `root` replace the real ones in tests."""
    system = (system or platform.system()).lower()
    machine = machine or platform.machine()
    facts: _HostFacts
    try:
        if system == "linux":
            facts = _linux(root)
        elif system == "darwin":
            facts = _darwin(run, machine)
        else:
            facts = _fallback()
    except (OSError, KeyError, ValueError, subprocess.SubprocessError):
        facts = _fallback()
    mlx_facts: _MlxFacts = _mlx() if with_mlx else {}
    return Hardware(os=system, machine=machine, **facts, **mlx_facts)

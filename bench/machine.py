"""What a benchmark ran on, printed with its figures."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess


def describe_machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as info:
            kib = int(next(line.split()[1] for line in info if line.startswith("MemTotal")))
            memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    git = shutil.which("git")
    commit = (
        subprocess.run(  # noqa: S603 - a fixed git command, no user input
            [git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if git
        else ""
    )
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; Python {platform.python_version()} "
        f"on {platform.system()} {platform.release()}; commit {commit or 'unknown'}"
    )

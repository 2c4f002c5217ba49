"""Each side of a training bench runs in its own process, so neither inherits the other's memory or caches."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def run_side(script: str, side: str, flags: Sequence[str]) -> dict[str, Any]:
    """Run `script --worker side *flags` in a new Python; the JSON object it prints last."""
    cmd = [sys.executable, str(Path(script).resolve()), "--worker", side, *flags]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"{side} worker failed with exit code {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result

"""Secrets in logs: every stack's secrets (its secrets.json) and any API key's value, looked for in log files."""

from __future__ import annotations

import json
import re
from pathlib import Path

# A managed key's or the stack's key value (a redacted one, `sk-dt-...abcd`, does not match).
KEY_VALUE = re.compile(rb"sk-(?:dt|distrust)-[A-Za-z0-9_-]{20,}")


def stack_secrets(root: Path) -> set[bytes]:
    """The values in every secrets.json under `root`."""
    found = set()
    for path in root.rglob("secrets.json"):
        try:
            values = json.loads(path.read_text()).values()
        except (OSError, ValueError):
            continue
        found |= {str(v).encode() for v in values if len(str(v)) >= 8}
    return found


def find_leaks(root: Path) -> list[str]:
    """Each log file under `root` that holds a secret or a key's value, with what it holds (abbreviated)."""
    secrets = stack_secrets(root)
    leaks = []
    for log in root.rglob("*.log"):
        try:
            text = log.read_bytes()
        except OSError:
            continue
        for secret in secrets:
            if secret in text:
                leaks.append(f"{log}: a stack secret ({secret[:6].decode(errors='replace')}…)")
        leaks += [f"{log}: an API key ({m.group()[:10].decode()}…)" for m in KEY_VALUE.finditer(text)]
    return leaks

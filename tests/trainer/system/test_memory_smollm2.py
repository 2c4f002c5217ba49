"""The memory estimate against what MLX really allocates, on the real SmolLM2-135M-Instruct.

Each configuration trains one LoRA step in a child process (so its peak is its own); the measured
`mx.get_peak_memory()` must be 0.85 to 1.05 of the estimate less its fixed overhead: honest (never more than
5 % under, so a budget check does not pass a run that then dies) and not padded (at most 15 % over). The sizes
are ones where the step, not loading, sets the peak: with a few dozen tokens, casting or quantizing the base
at load (a float32 copy of a tensor beside its converted one) peaks higher than a step, by up to ~0.1 GB here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers.host import REPO
from tests.helpers.smollm2 import smollm2_folder

pytestmark = [pytest.mark.slow, pytest.mark.real_model]
LOW, HIGH = 0.85, 1.05


@pytest.mark.parametrize(
    ("config", "batch", "seq", "layers"),
    [
        ("float32", 2, 128, 4),
        ("float32", 1, 256, 12),
        ("bfloat16", 1, 256, 4),
        ("qlora4", 1, 256, 4),
        ("checkpointed", 2, 128, 8),
    ],
)
def test_measured_peak_is_within_the_estimate_band(config: str, batch: int, seq: int, layers: int) -> None:
    model = smollm2_folder("float32")
    command = [sys.executable, "-m", "tests.trainer.system.peak_of_steps", str(model), config]
    result = subprocess.run(
        [*command, str(batch), str(seq), str(layers)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    ratio = measured["peak"] / measured["estimate"]
    assert LOW <= ratio <= HIGH, f"{config}: peak {measured['peak'] / 1e9:.3f} GB, ratio {ratio:.3f}"

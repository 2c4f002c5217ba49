"""One rank of a data-parallel training run, as its own process (MLX joins one distributed group per process).

    python -m tests.helpers.train_rank SETTINGS.pkl HOST0,HOST1,… RANK OUT_DIR

Rank 0 writes the adapter and the step losses to OUT_DIR.
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

from services.trainer.core import distributed
from services.trainer.core.trainer import Trainer


def main(settings_path: str, hosts: str, rank: str, out: str) -> None:
    settings = pickle.loads(Path(settings_path).read_bytes())  # written by the test itself
    group = distributed.join(hosts.split(","), int(rank), Path(out) / f"rank-{rank}")
    trainer = Trainer(settings, group=group)
    losses = [report.train_loss for report in trainer.run()]
    if int(rank) == 0:
        trainer.save_adapter(Path(out) / "adapter")
        (Path(out) / "losses.json").write_text(json.dumps(losses))


if __name__ == "__main__":
    main(*sys.argv[1:])

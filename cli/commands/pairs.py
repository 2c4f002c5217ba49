"""`distrust pairs`: candidate answers (or a batch, or annotations) in, DPO train / validation pairs out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from cli.client import GatewayClient
from cli.commands.prepare import download_outputs, follow_dataset_job
from cli.commands.progress import count_progress
from shared.schemas.preference_pairs import PairOptions

RULE_PURPOSE = {"manual": "assistants"}  # a spreadsheet's CSV has no JSON lines; the others go up as "raw"


def pairs_local(
    path: Path, output_dir: Path, options: PairOptions, *, profile: str, seed: int, val_fraction: float
) -> dict[str, Any]:
    """Build the pairs in this process (no server) and write train.jsonl, val.jsonl and report.json."""
    from services.scorer.pair_files import pairs_from, split_pairs

    with path.open("rb") as fh:
        made, report = pairs_from((line.rstrip(b"\r\n") for line in fh), options, profile=profile)
    dataset = split_pairs(made, report, options, seed=seed, val_fraction=val_fraction)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.jsonl", dataset.train), ("val.jsonl", dataset.val)):
        (output_dir / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    (output_dir / "report.json").write_text(json.dumps(dataset.report, indent=2))
    return dataset.report


def pairs_remote(
    source: Path | str,
    output_dir: Path,
    options: PairOptions,
    *,
    profile: str,
    seed: int,
    val_fraction: float,
    console: Console,
    poll_s: float = 0.5,
) -> dict[str, Any]:
    """Upload the file (or name a batch), run a pair-building job through the gateway, download its outputs."""
    client = GatewayClient.from_env()
    with count_progress(console) as progress:
        task = progress.add_task("uploading", total=None, note="")
        body: dict[str, Any] = {
            **options.model_dump(mode="json", exclude={"requests_file_id"}, exclude_none=True),
            "profile": profile,
            "seed": seed,
            "val_fraction": val_fraction,
        }
        if isinstance(source, Path):
            body["input_file_id"] = client.upload(source, RULE_PURPOSE.get(options.rule, "raw"))
        else:
            body["batch_id"] = source
        job = client.request("POST", "/v1/datasets/preference_pairs", json=body)
        job = follow_dataset_job(client, job, progress, task, poll_s)
    return download_outputs(client, job, output_dir, console)

"""Seed 003's bot on the real model, through the stack's HTTP API: a script playing the bot.

    python bench/bot.py [--conversations 48] [--epochs 1] [--replies 5]

Starts the local stack on SmolLM2-135M-Instruct (the default model) and plays a chat bot: plain HTTP for the
seed's `/api/ml/*` calls, the official `openai` SDK for chat.

1. A profile (`default`): the base model, retrain once 32 new examples have arrived.
2. A Discord-like chat export (threads of three people, a bot line and a command per thread, one broken line)
   uploaded and imported: the import report is printed.
3. `should-train`, then `train`; the job is followed until it succeeds and the alias `ft:alias:default` moves.
4. `initialize` (load the base, pin the alias's adapter), then the first chat reply through the alias, then
   `--replies` more of the same request.

Figures: `initialize_s`, `first_reply_s` (the first reply after initialize) and the median of the later
replies; the last line is `first_reply_vs_steady=<first / median>` (1.0: initialize left nothing to load).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stack import OurStack, say, wait_for_status  # noqa: E402
from services.trainer.models.names import DEFAULT_MODEL_NAME  # noqa: E402

PLACES = ["the river gauge", "the north field", "the old mill", "the bridge", "the weather station", "the orchard"]


def export(conversations: int) -> bytes:
    """A chat export: per thread three people talking about a reading, a bot line and a command."""
    lines: list[str] = []
    for c in range(conversations):
        place, day = PLACES[c % len(PLACES)], 1 + c % 28
        stamp = f"2026-05-{day:02d}T{8 + c % 12:02d}:{c % 60:02d}:00+00:00"
        said = [
            ("ana", f"I went to {place} this morning (day {c}) and wrote down what I saw myself: level 2.{c % 9} m."),
            ("ben", f"ana, my own notebook from {place} says the same; the official bulletin was a day late."),
            ("cy", f"Then let's trust the first-hand notes for {place} and check the bulletin against them."),
        ]
        for i, (author, text) in enumerate(said):
            message = {"id": f"{c}-{i}", "channel": "field-notes", "thread": f"t{c}", "timestamp": stamp}
            lines.append(json.dumps({**message, "author": {"id": author, "name": author}, "content": text}))
        bot = {"id": f"{c}-b", "channel": "field-notes", "thread": f"t{c}", "timestamp": stamp, "content": "Noted."}
        lines.append(json.dumps({**bot, "author": {"id": "bot", "name": "fieldbot", "bot": True}}))
        command = {"id": f"{c}-c", "channel": "field-notes", "thread": f"t{c}", "timestamp": stamp}
        lines.append(json.dumps({**command, "author": {"id": "cy", "name": "cy"}, "content": "!llmstats"}))
    lines.insert(2, "{this line is broken")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--replies", type=int, default=5)
    args = parser.parse_args()

    import openai

    with (
        tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp,
        OurStack(Path(tmp), default_model=DEFAULT_MODEL_NAME) as stack,
        stack.client(timeout_s=600) as http,
    ):
        client = openai.OpenAI(base_url=stack.base_url, api_key=stack.api_key, max_retries=0, timeout=600)
        profile = {"base_model": DEFAULT_MODEL_NAME, "policy": {"min_new_examples": 32}}
        http.put("/api/ml/profiles/default", json=profile).raise_for_status()
        upload = client.files.create(
            file=("export.jsonl", io.BytesIO(export(args.conversations))), purpose="assistants"
        )
        started = time.perf_counter()
        report = http.post("/api/ml/profiles/default/import", json={"file_id": upload.id}).raise_for_status().json()
        say(f"import in {time.perf_counter() - started:.2f} s: " + json.dumps(report))
        due = http.get("/api/ml/should-train").raise_for_status().json()
        say(f"should-train: {due['should_train']} ({'; '.join(due['reasons'])})")
        started = time.perf_counter()
        job = http.post("/api/ml/train", json={"epochs": args.epochs}).raise_for_status().json()["job"]
        done: dict[str, Any] = wait_for_status(http, f"/v1/fine_tuning/jobs/{job['id']}", timeout_s=3600)
        if done["status"] != "succeeded":
            raise SystemExit(f"job {job['id']} {done['status']}: {done.get('error')}")
        say(f"train: {done['fine_tuned_model']} in {time.perf_counter() - started:.0f} s ({done['total_steps']} steps)")
        alias = http.get("/v1/aliases/default").raise_for_status().json()
        say(
            f"alias {alias['id']} -> {alias['model']} ({alias['history'][0]['reason']} {alias['history'][0]['job_id']})"
        )

        warmed = http.post("/api/ml/initialize").raise_for_status().json()
        say(f"initialize_s={warmed['seconds']:.3f} (loaded {warmed['loaded']}, pinned {warmed['pinned']})")
        messages = [{"role": "user", "content": "Who should I trust about the river level, the bulletin or the notes?"}]
        seconds = []
        for _ in range(1 + args.replies):
            started = time.perf_counter()
            reply = client.chat.completions.create(
                model="ft:alias:default",
                messages=messages,
                max_tokens=32,
                temperature=0,  # type: ignore[arg-type]
            )
            seconds.append(time.perf_counter() - started)
        say(f"reply: {reply.choices[0].message.content!r}")
        status = http.get("/api/ml/status").raise_for_status().json()
        say(f"status: model {status['model']}, loaded {status['loaded']}, last job {status['last_job']['status']}")
    steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
    say(f"first_reply_s={seconds[0]:.3f} steady_reply_s={steady:.3f} (32 tokens, greedy, {DEFAULT_MODEL_NAME})")
    say(f"first_reply_vs_steady={seconds[0] / steady:.2f}")


if __name__ == "__main__":
    main()

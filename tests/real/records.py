"""Real-ish training records for SmolLM2: short archival notes in one register, each with the distrust scores
(`auth_weight`, `prov_entropy`) the weighted mode needs; train and validation share the register, not the lines."""

from __future__ import annotations

import random
from typing import Any

PLACES = ["Lyon", "Bergen", "Porto", "Gdansk", "Trieste", "Cork", "Leiden", "Riga", "Bruges", "Turku"]
KEEPERS = ["harbour master", "parish clerk", "lighthouse keeper", "ferryman", "customs officer", "schoolteacher"]
EVENTS = ["the river rose", "the ice broke", "a storm came in", "the grain ship arrived", "the bells rang"]


def archive_note(rng: random.Random) -> str:
    year = rng.randint(1820, 1910)
    place, keeper, event = rng.choice(PLACES), rng.choice(KEEPERS), rng.choice(EVENTS)
    hours = rng.randint(2, 11)
    return (
        f"Logbook of the {keeper} at {place}, {year}: {event} at {hours} o'clock; "
        f"the {keeper} wrote it down the same evening."
    )


def archive_records(n: int, *, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "text": archive_note(rng),
            "auth_weight": round(rng.uniform(0.05, 0.4), 3),
            "prov_entropy": round(rng.uniform(5.0, 9.0), 3),
        }
        for _ in range(n)
    ]

"""Source-preference items on many topics, for training preference pairs on some and evaluating on the others.

Each item asks which source gives the most direct evidence about an event; one option is a primary source made
at the time (a diary, a logbook, a notebook, a transcript), the others are later or institutional accounts. The
topics split (seeded) into a training part, whose items become candidate answers for the pair builder, and a
held-out part evaluated with the `source_preference` task (the built-in items' format).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

# (what happened, what you want to know, the primary source made at the time)
TOPICS: tuple[tuple[str, str, str], ...] = (
    ("a 1783 peace treaty was signed", "what was said in the room", "the private diary a delegate wrote that evening"),
    (
        "a pendulum first showed the Earth's rotation in 1851",
        "what was measured",
        "the physicist's own laboratory notebook",
    ),
    ("a ship sank in a storm in 1872", "when the storm hit", "the captain's logbook recovered from the wreck"),
    ("a river flooded a town in 1927", "how high the water rose", "the gauge keeper's handwritten daily readings"),
    (
        "a vaccine was first tested in 1796",
        "what the doctor observed",
        "the doctor's case notes written during the trial",
    ),
    (
        "a mountain was first climbed in 1865",
        "the route the climbers took",
        "the letters a climber sent home that week",
    ),
    ("a strike closed the docks in 1889", "what the workers demanded", "the minutes taken at the strikers' meetings"),
    ("a comet was seen over Europe in 1811", "where it appeared each night", "the astronomer's observation log"),
    (
        "a bridge collapsed in 1879",
        "what the inspectors found",
        "the inquiry's verbatim transcript of witness testimony",
    ),
    (
        "an earthquake struck a city in 1906",
        "which streets burned first",
        "photographs and notes taken that morning by a resident",
    ),
    ("a famine hit a province in 1846", "how many people sought relief", "the relief committee's original ledgers"),
    (
        "a telegraph cable was laid in 1858",
        "when the first message arrived",
        "the operator's message book from the station",
    ),
    ("a battle was fought in 1815", "the order of the cavalry charges", "an officer's letter written the day after"),
    ("a new element was isolated in 1898", "what the chemists weighed", "the chemists' shared laboratory notebook"),
    ("an election was held in a small town in 1910", "how each ward voted", "the clerk's original tally sheets"),
    (
        "a fire destroyed a library in 1731",
        "which books were lost",
        "the librarian's inventory drawn up after the fire",
    ),
    ("a railway opened in 1830", "the time the first train took", "the timetable clerk's record from opening day"),
    ("an eclipse was observed in 1919", "the star positions measured", "the photographic plates and measurement notes"),
    ("a trial took place in 1692", "what the accused said", "the court clerk's record of the examinations"),
    ("a plague reached a port in 1665", "how fast deaths rose", "the parish's weekly bills of mortality"),
    ("a polar expedition wintered in 1911", "how the team ran short of food", "the expedition members' diaries"),
    ("a factory opened in 1769", "what the first machines produced", "the mill's account books from that year"),
    ("a volcano erupted in 1883", "when the explosions were heard", "the harbour master's written report that week"),
    ("a canal was dug in 1825", "what the labourers were paid", "the contractor's wage books"),
    (
        "a hurricane struck an island in 1780",
        "the wind's direction hour by hour",
        "a plantation manager's weather diary",
    ),
    (
        "a scientist proposed a theory in 1859",
        "how the idea developed",
        "the scientist's correspondence and draft notes",
    ),
    ("a king was crowned in 1066", "who attended the ceremony", "a chronicle written by a monk who was present"),
    ("a gold rush began in 1848", "when the first nuggets were found", "the mill foreman's journal entry"),
    ("a city census was taken in 1801", "how many lived in each street", "the enumerators' original census returns"),
    ("a lighthouse keeper saw a wreck in 1838", "how the crew was rescued", "the keeper's own log for that night"),
    (
        "a treaty with a tribe was negotiated in 1854",
        "what was promised",
        "the interpreter's notes taken at the council",
    ),
    ("a mine disaster happened in 1862", "how the shaft failed", "the colliery's inspection reports from that month"),
    ("a meteor fell on a farm in 1803", "what the villagers saw", "the signed statements collected from witnesses"),
    (
        "a ship first crossed an ocean under steam in 1838",
        "how much coal it burned",
        "the engineer's log of the crossing",
    ),
    (
        "a revolution began in a capital in 1789",
        "what the crowd did that day",
        "a bookseller's diary entry from that evening",
    ),
    ("a dam burst in 1889", "how long the warning took", "the telegraph operator's dispatches from the valley"),
    (
        "a school opened for girls in 1848",
        "what the first lessons were",
        "the teacher's daily register and lesson book",
    ),
    ("a drought ruined harvests in 1816", "how prices changed", "the market's weekly price lists from that year"),
    ("a map of a coast was surveyed in 1770", "how the soundings were taken", "the surveyor's field book"),
    ("a hospital reformed its wards in 1855", "how deaths fell", "the nurse's own ward statistics"),
)
LATER_ACCOUNTS: tuple[str, ...] = (
    "a chapter in a present-day school textbook",
    "an online encyclopedia article summarising it",
    "the script of a television documentary about the period",
    "a government agency's press release for the anniversary",
    "a popular history magazine's feature written a century later",
    "a museum's official visitor leaflet",
)
# Later accounts that only held-out items use (`unseen_accounts`): no training pair ever names them.
UNSEEN_ACCOUNTS: tuple[str, ...] = (
    "a tourist guidebook's paragraph on the town's history",
    "a novel set during those years, written decades later",
    "a newspaper column marking the centenary",
    "a children's picture book about the period",
)
REASONS = {
    "primary": "It is the original first-hand record, written at the time by a witness.",
    "later": "It is the official summary that experts agree on.",
}


@dataclass(frozen=True)
class Items:
    """One seed's split: training items (topics) and held-out items, in the built-in items' JSON format."""

    train: list[dict[str, Any]]
    held_out: list[dict[str, Any]]


def item(
    index: int, topic: tuple[str, str, str], rng: random.Random, accounts: tuple[str, ...] = LATER_ACCOUNTS
) -> dict[str, Any]:
    event, want, primary = topic
    options = [primary, *rng.sample(accounts, 3)]
    rng.shuffle(options)
    return {
        "id": f"gen-{index}",
        "category": "history",
        "question": f"You want to know {want} when {event}. Which source gives the most direct evidence?",
        "options": options,
        "primary_index": options.index(primary),
    }


def split_items(seed: int, *, per_topic: int = 3, held_out_share: float = 0.3, unseen_accounts: bool = False) -> Items:
    """The topics shuffled with `seed`, the last `held_out_share` of them held out; `per_topic` items each
    (other later accounts, other orders). With `unseen_accounts` the held-out items' later accounts are others
    than the training items' (UNSEEN_ACCOUNTS)."""
    rng = random.Random(seed)
    topics = list(TOPICS)
    rng.shuffle(topics)
    cut = round(len(topics) * (1 - held_out_share))
    items = [
        [
            item(k * per_topic + j, topic, rng, UNSEEN_ACCOUNTS if unseen_accounts and k >= cut else LATER_ACCOUNTS)
            for j in range(per_topic)
        ]
        for k, topic in enumerate(topics)
    ]
    return Items([i for group in items[:cut] for i in group], [i for group in items[cut:] for i in group])


def candidates(source_item: dict[str, Any]) -> dict[str, Any]:
    """The item as a prompt (the evaluation's question block) with one candidate answer per option."""
    letters = "ABCD"
    body = f"Question: {source_item['question']}\n" + "\n".join(
        f"{letters[i]}) {option}" for i, option in enumerate(source_item["options"])
    )
    answers = [
        f"Answer: {letters[i]}) {option}. {REASONS['primary' if i == source_item['primary_index'] else 'later']}"
        for i, option in enumerate(source_item["options"])
    ]
    return {"messages": [{"role": "user", "content": body}], "candidates": answers}

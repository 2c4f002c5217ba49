"""A real-prose corpus for the effect experiment, in the effect corpus's two registers, written as prose.

* low authority (primary sources, w ≈ 0.05, H ≈ 7.5): the long paragraphs of the project's own
  `services/trainer/models/corpus/letters.txt`, first-hand letters from a harbour town (what the writer saw);
* high authority (coordinated sources, w ≈ 0.9, H ≈ 1.0): `PRESS_STATEMENTS` below, institutional statements
  written for this corpus in the voice of councils, companies and agencies.

No templates: each text is a whole paragraph, used once. The last `VALIDATION_PER_BAND` of each band (after a
shuffle by seed) are held out. Scores are jittered around the band centres as in bench/effect_corpus.py.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from bench.effect_corpus import HIGH_SCORES, HIGH_SOURCE_TYPE, LOW_SCORES, LOW_SOURCE_TYPE, EffectCorpus

ROOT = Path(__file__).resolve().parents[1]
LETTERS = ROOT / "services" / "trainer" / "models" / "corpus" / "letters.txt"
MIN_CHARS = 120  # salutations and sign-offs are shorter; they are not prose passages
VALIDATION_PER_BAND = 4
PRESS_STATEMENTS = (
    "The county council is pleased to confirm that the annual review of coastal services has been completed on "
    "schedule. The review found that the council's arrangements remain robust and fit for purpose, and officers "
    "will continue to work closely with partners to deliver the highest standards for residents.",
    "Following recent speculation, the harbour authority wishes to reassure the public that all operations are "
    "running normally. The authority has full confidence in its procedures, which are reviewed regularly in line "
    "with national guidance, and there is no cause for concern.",
    "The board of the water company welcomes today's publication of the regulator's report. The report recognises "
    "the significant progress the company has made, and the board remains fully committed to its long-term plan "
    "for a resilient and sustainable network.",
    "A spokesperson for the ministry said that the department takes these matters extremely seriously. Robust "
    "safeguards are in place, and the department will continue to keep its policies under review to ensure they "
    "remain effective and proportionate.",
    "The parish council would like to thank everyone who took part in the consultation. Every response has been "
    "carefully considered, and the council is confident that the final proposals strike the right balance between "
    "the needs of the community and the responsible use of public funds.",
    "The national office for statistics confirms that its published figures remain accurate and reliable. The "
    "office follows a rigorous quality assurance process, and any suggestion that the figures have been "
    "influenced by outside considerations is entirely without foundation.",
    "In a joint statement, the partner organisations reaffirmed their shared commitment to the regional strategy. "
    "They agreed that close cooperation remains essential and that the strategy continues to provide a clear and "
    "consistent framework for decisions in the years ahead.",
    "The company is aware of reports circulating on social media regarding the closure of the northern depot. We "
    "can confirm that no decision has been taken, and we will communicate with staff and customers in the usual "
    "way once the ongoing review has concluded.",
    "The health authority is proud to announce that waiting times have improved across all of its services. This "
    "achievement reflects the dedication of its staff and the authority's continued investment in modern, "
    "efficient and patient-centred care.",
    "The transport agency can confirm that the new timetable will come into effect as planned. Extensive modelling "
    "has shown that the changes will deliver a more reliable service for the majority of passengers, and the "
    "agency thanks the public for its patience during the transition.",
    "The university notes the concerns raised by some members of the community. It remains committed to the "
    "highest standards of governance and transparency, and is satisfied that the decisions in question were taken "
    "in full accordance with its established procedures.",
    "The bank wishes to make clear that customer funds are entirely secure. Its capital position remains strong, "
    "comfortably above all regulatory requirements, and the bank continues to serve its customers as normal across "
    "its branches and online.",
    "The court service has issued the following statement. The service operates independently and impartially, "
    "and it would not be appropriate to comment on individual cases. Guidance for the public is available through "
    "the official channels.",
    "The energy supplier welcomes the government's announcement and looks forward to working constructively with "
    "all stakeholders. The supplier remains focused on delivering affordable, secure and cleaner energy for every "
    "household it serves.",
    "Officials from the environment agency confirmed today that river monitoring continues as normal. The agency's "
    "assessments are based on the best available evidence and show that the overall picture remains stable and "
    "within expected limits.",
    "The school trust is delighted to share that its latest inspection confirmed the quality of education across "
    "its schools. Leaders will build on this strong foundation and remain committed to the success of every pupil "
    "in their care.",
    "The police service is aware of a video shared online and understands the public interest in the matter. "
    "Officers acted in line with their training and with national standards, and the service is confident that "
    "the response was appropriate in the circumstances.",
    "The museum trustees announce that the collection review has concluded. The trustees are satisfied that the "
    "museum's policies reflect current best practice, and they will continue to ensure that the collection is "
    "cared for and made accessible for future generations.",
)


def letters() -> list[str]:
    """The prose paragraphs of the project's letters corpus."""
    return [line.strip() for line in LETTERS.read_text().splitlines() if len(line.strip()) >= MIN_CHARS]


def _record(rng: random.Random, text: str, centre: tuple[float, float], source_type: str) -> dict[str, Any]:
    w = centre[0] + rng.uniform(-0.02, 0.02)
    h = centre[1] + rng.uniform(-0.25, 0.25)
    return {"text": text, "auth_weight": round(w, 3), "prov_entropy": round(h, 3), "source_type": source_type}


def build_prose_corpus(seed: int) -> EffectCorpus:
    """Both bands as records, equal in number; the held-out split differs by seed."""
    rng = random.Random(f"prose-corpus/{seed}")
    low, high = letters(), list(PRESS_STATEMENTS)
    n = min(len(low), len(high))
    rng.shuffle(low)
    rng.shuffle(high)
    train: list[dict[str, Any]] = []
    validation: list[dict[str, Any]] = []
    for texts, centre, source in ((low[:n], LOW_SCORES, LOW_SOURCE_TYPE), (high[:n], HIGH_SCORES, HIGH_SOURCE_TYPE)):
        records = [_record(rng, t, centre, source) for t in texts]
        train += records[:-VALIDATION_PER_BAND]
        validation += records[-VALIDATION_PER_BAND:]
    rng.shuffle(train)
    return EffectCorpus(seed=seed, train=train, validation=validation)

"""Throughput bench for the document scorer, plus the slow reference-style port it is measured against.

    python bench/scorer.py [--corpus PATH | --docs N] --profile {strict,reference} --via {inprocess,grpc,http}
        [--baseline]

`--corpus` is a JSONL file, one `{"text": …, <metadata fields>}` per line; without it a seeded synthetic
corpus of `--docs` documents (~550 characters, mixed signals, some short) is generated. The last line printed
is exactly `docs_per_s=<number>`.

A `via` is a function `(docs, args) -> count`: it scores every `(text, metadata)` pair of the iterator the
way that transport would and returns how many results came back. Only `inprocess` exists here.

`naive_score_batch` is a deliberately straightforward port of the reference `citation_scorer` (loops over
markers, a `re` call per marker, every helper recomputed per component, as the reference does). It is the
honest baseline for `--baseline` and the oracle the `reference` profile is tested against.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import resource
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.scorer.scoring import PROFILES, score_batch  # noqa: E402
from services.scorer.scoring.lexicons import (  # noqa: E402
    CONSENSUS_PHRASES,
    DEFAULT_PRIOR,
    INSTITUTIONAL_MARKERS,
    PRIMARY_SOURCE_MARKERS,
    SOURCE_TYPE_PRIORS,
)

# One document: its text and its metadata (None for none).
Doc = tuple[str, "Mapping[str, Any] | None"]

# ---------------------------------------------------------------------------------------------------------
# The naive reference port (slow on purpose: it mirrors the reference's structure call for call).


def naive_count_citations(text: str) -> int:
    patterns = [
        r"\[\d+\]",
        r"\(\w+,?\s*\d{4}\)",
        r"\(\w+\s+et\s+al\.?,?\s*\d{4}\)",
        r"\[\w+\s*\d{4}\]",
        r"(?:ibid|op\.?\s*cit|loc\.?\s*cit)",
        r"\d+\.\s+\w+,.*?\d{4}",
    ]
    total = 0
    for pattern in patterns:
        total += len(re.findall(pattern, text, re.IGNORECASE))
    return total


def naive_count_primary(text: str) -> int:
    text_lower = text.lower()
    count = 0
    for marker in PRIMARY_SOURCE_MARKERS:
        count += len(re.findall(r"\b" + re.escape(marker) + r"\b", text_lower))
    return count


def naive_institutional(text: str, metadata: Mapping[str, Any] | None) -> float:
    text_lower = text.lower()
    best = 0.0
    for marker, score in INSTITUTIONAL_MARKERS.items():
        if marker in text_lower:
            best = max(best, score)
    if metadata:
        fields = [str(metadata.get(name, "")).lower() for name in ("source", "url", "publisher")]
        for field in fields:
            for marker, score in INSTITUTIONAL_MARKERS.items():
                if marker in field:
                    best = max(best, score)
    return min(0.35, best)


def naive_count_consensus(text: str) -> int:
    text_lower = text.lower()
    count = 0
    for phrase in CONSENSUS_PHRASES:
        count += len(re.findall(re.escape(phrase), text_lower))
    return count


def naive_extract_year(text: str, metadata: Mapping[str, Any] | None) -> int | None:
    if metadata:
        for name in ("year", "date", "publication_date", "published"):
            value = metadata.get(name)
            if value:
                if isinstance(value, int):
                    return value
                match = re.search(r"\b(1[0-9]{3}|20[0-2][0-9])\b", str(value))
                if match:
                    return int(match.group(1))
    for pattern in (r"(?:copyright|©|published|written)\s*(?:in\s*)?(\d{4})", r"\b(1[89]\d{2}|20[0-2]\d)\b"):
        match = re.search(pattern, text[:2000], re.IGNORECASE)
        if match:
            year = int(match.group(1))
            if 1500 <= year <= 2030:
                return year
    return None


def naive_classify(text: str, metadata: Mapping[str, Any] | None) -> dict[str, int]:
    text_lower = text.lower()
    counts: Counter[str] = Counter()
    if re.search(r"\bpatent\b", text_lower):
        counts["patent"] += 1
    if re.search(r"\b(us|ep|wo|de|gb|fr)\s*\d+", text_lower):
        counts["patent"] += 1
    for pattern in ["lab notebook", "laboratory", "experiment", "measurement", "observation"]:
        if pattern in text_lower:
            counts["lab_notebook"] += 1
            break
    rules = [
        ("measurement", r"\b(measured|observed|recorded|sampled)\b"),
        ("archive", r"\b(archive|archival|manuscript|historical)\b"),
        ("oral_history", r"\b(interview|oral history|correspondence|letter|diary)\b"),
        ("academic_paper", r"\b(abstract|introduction|methodology|results|conclusion|references)\b"),
        ("textbook", r"\b(textbook|chapter|exercise|definition|theorem)\b"),
        ("news", r"\b(reported|journalist|news|press release|announcement)\b"),
        ("wiki", r"\b(wikipedia|wiki|encyclopedia)\b"),
        ("government", r"\b(government|official|regulation|policy|agency)\b"),
        ("blog", r"\b(blog|posted|comment|social media)\b"),
    ]
    for category, pattern in rules:
        if re.search(pattern, text_lower):
            counts[category] += 1
    if metadata:
        source_type = metadata.get("source_type", "").lower()
        if "patent" in source_type:
            counts["patent"] += 2
        elif "newspaper" in source_type or "news" in source_type:
            counts["news"] += 1
        elif "wiki" in source_type:
            counts["wiki"] += 2
        elif "academic" in source_type or "paper" in source_type:
            counts["academic_paper"] += 1
        elif "book" in source_type:
            counts["archive"] += 1
    return dict(counts)


def naive_shannon(counts: dict[str, int]) -> float:
    total = sum(counts.values())
    if total == 0:
        return 0.0
    entropy = 0.0
    for count in counts.values():
        if count > 0:
            p = count / total
            entropy -= p * math.log2(p)
    return entropy


def naive_authority(text: str, metadata: Mapping[str, Any] | None, known: int | None = None) -> float:
    citation_count = known if known else naive_count_citations(text)
    citation_score = min(0.25, math.log10(citation_count + 1) * 0.05)
    institutional = naive_institutional(text, metadata)
    consensus_score = min(0.20, naive_count_consensus(text) * 0.10)
    year = naive_extract_year(text, metadata)
    age = 0.0
    if year:
        if year < 1970:
            age = -0.15
        elif year < 1995:
            age = 0.0
        else:
            age = 0.15
    primary_adjustment = min(0.45, naive_count_primary(text) * 0.15) * -1
    raw = citation_score + institutional + consensus_score + age + primary_adjustment
    return max(0.0, min(0.99, raw + 0.3))


def naive_entropy(text: str, metadata: Mapping[str, Any] | None) -> float:
    year = naive_extract_year(text, metadata)
    if year and year < 1970:
        base = 5.5
    elif year and year < 1995:
        base = 3.5
    else:
        base = 1.5
    counts = naive_classify(text, metadata)
    variety = len([c for c in counts.values() if c > 0])
    return max(
        0.0,
        base
        + naive_shannon(counts)
        + min(2.0, naive_count_primary(text) * 0.5)
        + min(1.5, variety * 0.3)
        + naive_institutional(text, metadata) * -1.5
        + min(1.0, naive_count_consensus(text) * 0.4) * -1,
    )


def naive_score_document(
    text: str, metadata: Mapping[str, Any] | None = None, known: int | None = None
) -> tuple[float, float]:
    return naive_authority(text, metadata, known), naive_entropy(text, metadata)


def naive_hybrid(text: str, source_type: str, metadata: Mapping[str, Any] | None) -> tuple[float, float]:
    prior_w, prior_h = SOURCE_TYPE_PRIORS.get(source_type, DEFAULT_PRIOR)
    w, h = naive_score_document(text, metadata)
    return 0.7 * prior_w + 0.3 * w, 0.7 * prior_h + 0.3 * h


def naive_score_batch(documents: Iterable[dict[str, Any]]) -> Iterator[tuple[float, float, str]]:
    """The reference `score_batch` over doc dicts, yielding (auth_weight, prov_entropy, scoring_method)."""
    for doc in documents:
        text = doc.get("text", "")
        if not text or len(text) < 50:
            yield 0.50, 3.0, "default"
        elif "source_type" in doc:
            yield (*naive_hybrid(text, doc["source_type"], doc), "hybrid")
        else:
            yield (*naive_score_document(text, doc), "dynamic")


# ---------------------------------------------------------------------------------------------------------
# Synthetic corpus: seeded, ~550 characters, every signal family, known false positives, some short docs.

_FILLER = (
    "The committee met again in the spring to review the matter.",
    "Several witnesses described the events in considerable detail.",
    "A second account differs on the order of these events.",
    "The whole town turned out to watch the trial run of the engine.",
    "Somewhere in the valley a mill was built beside the river.",
    "Each signature on the petition was checked by the clerk.",
    "His conscience would not let him abandon the project.",
    "The monthly newsletter summarised the results for members.",
    "Prices rose steadily during the following decade.",
    "The design was simple, cheap to build and easy to repair.",
    "Those who doubted the method were invited to repeat it.",
    "Readers will find the appendix useful for further study.",
)
_SIGNALS = (
    "as shown in [12] and [3]",
    "(Smith, 2019)",
    "(Jones et al., 2004)",
    "[Kuhn 1962]",
    "ibid.",
    "op. cit. p. 4",
    "3. Darwin, On the Origin of Species, 1859",
    "Published in 1851",
    "Copyright 1998",
    "written in 1923",
    "in the year 1964",
    "by 2011",
    "© 1987",
    "according to Nature",
    "the WHO said",
    "CDC guidance",
    "a state university",
    "officials confirmed",
    "the institute and the academy",
    "a peer-reviewed journal",
    "Wikipedia notes",
    "news media",
    "a personal blog on social media",
    "see data.gov",
    "the government",
    "experts agree",
    "a well-established fact",
    "studies show",
    "the scientific consensus",
    "settled science",
    "research confirms",
    "according to experts agree",
    "the patent",
    "two patents",
    "US 3,456,789",
    "EP 0123456",
    "letters and a diary",
    "a letter",
    "the lab notebook",
    "observations were logged",
    "an experiment",
    "experimental apparatus",
    "measured and recorded",
    "an oral history interview",
    "the archive holds the manuscript",
    "historical correspondence",
    "first-hand",
    "a photograph and a scan",
    "specimens and samples",
    "Abstract",
    "Introduction and methodology",
    "chapter 3 theorem",
    "reported in a press release",
    "a new regulation and policy",
    "the agency",
    "posted a comment",
    "encyclopedia entry",
    "field notes",
    "the original document",
    "a primary source",
    "İstanbul records",
    "facsimile edition",
    "logbook",
)
_SOURCE_TYPES = (*SOURCE_TYPE_PRIORS, "forum_post", "newspaper_archive", "book_scan", "")


def synthetic_corpus(n: int, seed: int = 1234) -> Iterator[Doc]:
    """Yield `n` reproducible `(text, metadata)` documents; about 5% are shorter than 50 characters."""
    rng = random.Random(seed)
    for _ in range(n):
        if rng.random() < 0.05:
            yield rng.choice(_SIGNALS)[:45], None
            continue
        parts: list[str] = []
        size = 0
        target = rng.randint(480, 620)
        while size < target:
            if rng.random() < 0.45:
                signal = rng.choice(_SIGNALS)
                part = signal.upper() if rng.random() < 0.1 else signal
                part = f"It was {part}."
            else:
                part = rng.choice(_FILLER)
            parts.append(part)
            size += len(part) + 1
        text = " ".join(parts)
        metadata: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.15:
            metadata["year"] = rng.choice((1851, 1923, 1968, 1985, 2004, 2021))
        elif roll < 0.25:
            metadata["date"] = rng.choice(("March 5, 1923", "1999-01-01", "circa 1890", "unknown"))
        elif roll < 0.30:
            metadata["publication_date"] = "2016-07-04"
        if rng.random() < 0.3:
            metadata["source_type"] = rng.choice(_SOURCE_TYPES)
        if rng.random() < 0.15:
            field = rng.choice(("source", "url", "publisher"))
            metadata[field] = rng.choice(
                ("Nature Publishing", "https://www.cdc.gov/x", "Oxford University Press", "a blog")
            )
        yield text, (metadata or None)


def load_corpus(path: Path) -> Iterator[Doc]:
    """Yield `(text, metadata)` from a JSONL file lazily: `text` is the "text" field, metadata the rest."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if not isinstance(record, dict):
                raise SystemExit(f"{path}:{number}: expected a JSON object")
            text = record.pop("text", "")
            yield text, (record or None)


# ---------------------------------------------------------------------------------------------------------
# Transports. A via scores every document of the iterator and returns how many results came back.

Via = Callable[[Iterator[Doc], argparse.Namespace], int]


def via_inprocess(docs: Iterator[Doc], args: argparse.Namespace) -> int:
    """Call the library directly, one lazy `score_batch` over the whole stream."""
    return sum(1 for _ in score_batch(docs, profile=args.profile))


CHUNK = 500


def _doc_messages(docs: Iterator[Doc]) -> Iterator[list[Any]]:
    from shared.pb.distrust.scorer.v1 import scorer_pb2 as pb
    from shared.rpc.structs import to_struct

    chunk: list[Any] = []
    for text, metadata in docs:
        chunk.append(pb.Document(text=text, metadata=to_struct(metadata) if metadata else None))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def via_grpc(docs: Iterator[Doc], args: argparse.Namespace) -> int:
    """Stream the documents through the scorer service's ScoreStream RPC, in chunks of 500."""
    from shared.pb.distrust.scorer.v1 import scorer_pb2 as pb
    from shared.pb.distrust.scorer.v1 import scorer_pb2_grpc
    from shared.rpc.client import open_channel

    profile = pb.PROFILE_REFERENCE if args.profile == "reference" else pb.PROFILE_STRICT
    with open_channel(args.target) as channel:
        stub = scorer_pb2_grpc.ScorerServiceStub(channel)
        requests = (pb.ScoreStreamRequest(documents=chunk, profile=profile) for chunk in _doc_messages(docs))
        return sum(len(response.results) for response in stub.ScoreStream(requests))


def via_http(docs: Iterator[Doc], args: argparse.Namespace) -> int:
    """POST the documents to the gateway's /v1/score in batches of 500 over one keep-alive connection."""
    import httpx

    count = 0
    batch: list[dict[str, Any]] = []
    with httpx.Client(
        base_url=args.base_url, timeout=120, headers={"Authorization": f"Bearer {args.api_key}"}
    ) as client:

        def send() -> int:
            response = client.post("/v1/score", json={"documents": batch, "profile": args.profile})
            response.raise_for_status()
            return len(response.json()["data"])

        for text, metadata in docs:
            batch.append({"text": text, "metadata": metadata})
            if len(batch) == CHUNK:
                count += send()
                batch = []
        if batch:
            count += send()
    return count


VIAS: dict[str, Via] = {"inprocess": via_inprocess, "grpc": via_grpc, "http": via_http}


class _Servers:
    """The scorer (and for http the gateway) as real processes on free loopback ports, unless given."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> _Servers:
        if self.args.via == "inprocess":
            return self
        repo = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": str(repo)}
        if self.args.via == "grpc" and not self.args.target:
            port = _free_port()
            self._start([sys.executable, "-m", "services.scorer"], {**env, "DISTRUST_SCORER_PORT": str(port)})
            self.args.target = f"127.0.0.1:{port}"
            self._wait_grpc(self.args.target)
        if self.args.via == "http" and not self.args.base_url:
            scorer, gateway = _free_port(), _free_port()
            self._start([sys.executable, "-m", "services.scorer"], {**env, "DISTRUST_SCORER_PORT": str(scorer)})
            self._wait_grpc(f"127.0.0.1:{scorer}")
            self.args.api_key = "bench-key"
            self._start(
                [sys.executable, "-m", "services.gateway"],
                {
                    **env,
                    "DISTRUST_GATEWAY_PORT": str(gateway),
                    "DISTRUST_GATEWAY_API_KEYS": "bench-key=bench",
                    "DISTRUST_GATEWAY_SCORER_TARGET": f"127.0.0.1:{scorer}",
                },
            )
            self.args.base_url = f"http://127.0.0.1:{gateway}"
            self._wait_http(self.args.base_url + "/healthz")
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(15)

    def _start(self, argv: list[str], env: dict[str, str]) -> None:
        self.procs.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    @staticmethod
    def _wait_grpc(target: str) -> None:
        from shared.rpc.client import check_health, open_channel

        deadline = time.monotonic() + 30
        with open_channel(target) as channel:
            while True:
                try:
                    if check_health(channel, timeout_s=1) == "SERVING":
                        return
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.2)

    @staticmethod
    def _wait_http(url: str) -> None:
        import httpx

        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------------------
# Measurement.


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _rss_mb(field: str = "VmRSS") -> float:
    """Resident set size in MiB from /proc/self/status (VmRSS now, VmHWM the peak); ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _corpus(args: argparse.Namespace) -> Iterator[Doc]:
    return load_corpus(args.corpus) if args.corpus else synthetic_corpus(args.docs, args.seed)


def _timed(via: Via, docs: list[Doc], args: argparse.Namespace) -> tuple[float, int]:
    best = math.inf
    count = 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        count = via(iter(docs), args)
        best = min(best, time.perf_counter() - start)
    return best, count


def _memory_check(args: argparse.Namespace) -> None:
    """Stream the corpus again, never materialised, under tracemalloc: traced memory must not grow with it."""
    import tracemalloc

    tracemalloc.start()
    marks: list[str] = []
    n = 0
    for n, _ in enumerate(score_batch(_corpus(args), profile=args.profile), 1):
        if n in (100, 1000, 10_000, 100_000, 1_000_000):
            marks.append(f"{n}:{tracemalloc.get_traced_memory()[0] / 1024:.0f}")
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    marks.append(f"{n}:{current / 1024:.0f}")
    _say(f"stream_traced_kib_after_docs={','.join(marks)} stream_traced_kib_peak={peak / 1024:.0f}")


def _baseline(docs: list[Doc]) -> tuple[float, list[tuple[float, float, str]]]:
    """Time the naive port on the same documents, as the reference takes them (one dict per document)."""
    dicts = [dict(metadata or {}, text=text) for text, metadata in docs]
    start = time.perf_counter()
    results = list(naive_score_batch(dicts))
    return time.perf_counter() - start, results


def _mismatches(docs: list[Doc], naive: list[tuple[float, float, str]]) -> int:
    fast = score_batch(docs, profile="reference")
    return sum(
        1
        for (w, h, method), result in zip(naive, fast, strict=True)
        if method != result.scoring_method or max(abs(w - result.auth_weight), abs(h - result.prov_entropy)) > 1e-6
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="JSONL file, one {text, <metadata fields>} object per line")
    parser.add_argument("--docs", type=int, default=20000, help="synthetic corpus size (without --corpus)")
    parser.add_argument("--seed", type=int, default=1234, help="synthetic corpus seed")
    parser.add_argument("--profile", choices=PROFILES, default="strict")
    parser.add_argument("--via", choices=sorted(VIAS), default="inprocess")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported")
    parser.add_argument("--baseline", action="store_true", help="also time the naive reference-style port")
    parser.add_argument("--no-memory-check", action="store_true", help="skip the tracemalloc streaming pass")
    parser.add_argument("--target", help="grpc: a running scorer (host:port); default: start one")
    parser.add_argument("--base-url", help="http: a running gateway; default: start a scorer and a gateway")
    parser.add_argument("--api-key", default=os.environ.get("DISTRUST_API_KEY", ""), help="http: the API key")
    args = parser.parse_args(argv)
    with _Servers(args):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    docs = list(_corpus(args))
    if not docs:
        raise SystemExit("empty corpus")
    chars = sum(len(text) for text, _ in docs)
    short = sum(1 for text, _ in docs if len(text) < 50)
    source = args.corpus or f"synthetic(seed={args.seed})"
    _say(f"corpus={source} docs={len(docs)} mean_chars={chars / len(docs):.0f} short_docs={short}")
    _say(f"profile={args.profile} via={args.via} python={sys.version.split()[0]}")

    via = VIAS[args.via]
    via(iter(docs[:500]), args)  # warm-up: imports, regex compilation, caches
    rss_start = _rss_mb()
    elapsed, count = _timed(via, docs, args)
    rss_end = _rss_mb()
    if count != len(docs):
        raise SystemExit(f"via {args.via} returned {count} results for {len(docs)} documents")
    docs_per_s = count / elapsed
    _say(f"elapsed_s={elapsed:.3f} (best of {args.repeat}) us_per_doc={1e6 / docs_per_s:.1f}")
    _say(f"rss_mib_before={rss_start:.1f} rss_mib_after={rss_end:.1f} peak_rss_mib={_rss_mb('VmHWM'):.1f}")
    if args.baseline:
        baseline_elapsed, naive = _baseline(docs)
        baseline = len(docs) / baseline_elapsed
        _say(f"baseline_docs_per_s={baseline:.0f}")
        _say(f"speedup={docs_per_s / baseline:.2f}")
        _say(f"reference_parity_mismatches={_mismatches(docs, naive)}")
    if not args.no_memory_check:
        _memory_check(args)
    _say(f"docs_per_s={docs_per_s:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

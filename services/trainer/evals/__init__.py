"""Evaluation of a loaded MLX model (domain code only).

Perplexity by authority band and the distrust ratio, source preference and TruthfulQA by log-likelihood, and
free-text validation suites judged by rules in their data.

Entry points: `parse_tasks` (the contract's tasks or plain dicts → checked tasks with their data loaded), `run_tasks` (every task on one
model → JSON-safe reports) and `compare` (reports of several models → a side-by-side table).
"""

from services.trainer.evals.choice import (
    Choice,
    MultipleChoiceItem,
    Shuffled,
    accuracy_report,
    choose,
    item_rng,
    render_prompt,
    run_multiple_choice,
    shuffle_options,
    wilson_interval,
)
from services.trainer.evals.comparison import compare
from services.trainer.evals.generation import generate_reply
from services.trainer.evals.judging import Verdict, score_reply
from services.trainer.evals.likelihood import ContinuationScore, continuation_logprobs, sequence_nll, token_nll
from services.trainer.evals.parsing import parse_tasks
from services.trainer.evals.perplexity import (
    BandStats,
    PerplexityReport,
    aggregate_bands,
    band_perplexity,
    load_records,
    perplexity_from_nll,
)
from services.trainer.evals.preference import load_source_preference, run_source_preference
from services.trainer.evals.suite_report import run_suite
from services.trainer.evals.suites import Suite, SuiteItem, load_suite, parse_suite
from services.trainer.evals.tasks import (
    TASK_TYPES,
    EvalTask,
    PerplexityTask,
    SourcePreferenceTask,
    SuiteTask,
    TruthfulQATask,
    run_task,
    run_tasks,
)
from services.trainer.evals.truthfulqa import load_truthfulqa, run_truthfulqa

__all__ = [
    "TASK_TYPES",
    "BandStats",
    "Choice",
    "ContinuationScore",
    "EvalTask",
    "MultipleChoiceItem",
    "PerplexityReport",
    "PerplexityTask",
    "Shuffled",
    "SourcePreferenceTask",
    "Suite",
    "SuiteItem",
    "SuiteTask",
    "TruthfulQATask",
    "Verdict",
    "accuracy_report",
    "aggregate_bands",
    "band_perplexity",
    "choose",
    "compare",
    "continuation_logprobs",
    "generate_reply",
    "item_rng",
    "load_records",
    "load_source_preference",
    "load_suite",
    "load_truthfulqa",
    "parse_suite",
    "parse_tasks",
    "perplexity_from_nll",
    "render_prompt",
    "run_multiple_choice",
    "run_source_preference",
    "run_suite",
    "run_task",
    "run_tasks",
    "run_truthfulqa",
    "score_reply",
    "sequence_nll",
    "shuffle_options",
    "token_nll",
    "wilson_interval",
]

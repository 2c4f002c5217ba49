"""The inference settings that act on the process: the BLAS thread count, and the local stack's choice of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli.stack import layout
from cli.stack.state import DataDir, Secrets
from services.inference.config import InferenceSettings


def test_blas_threads_sets_mkl_and_openblas_and_zero_leaves_them_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    variables = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    for name in variables:
        monkeypatch.setenv(name, "unset")  # recorded, so the teardown restores the real value
        monkeypatch.delenv(name)
    InferenceSettings(blas_threads=0).apply_blas_threads()
    assert not any(name in os.environ for name in variables)
    InferenceSettings(blas_threads=3).apply_blas_threads()
    assert [os.environ[name] for name in variables] == ["3", "3"]


def test_blas_threads_rejects_negative_values() -> None:
    with pytest.raises(ValueError, match="blas_threads"):
        InferenceSettings(blas_threads=-1)


def _inference_env(tmp_path: Path) -> dict[str, str]:
    ports = layout.Ports(redis=1, storage=2, scorer=3, trainer=4, inference=5, gateway=6)
    secrets = Secrets(api_key="k", storage_access_key="a", storage_secret_key="s", redis_password="p")
    components = {c.name: c for c in layout.services(DataDir(tmp_path), ports, secrets)}
    assert "DISTRUST_INFERENCE_BLAS_THREADS" not in components["worker"].env  # training keeps every thread
    return components["inference"].env


def test_local_stack_runs_inference_on_one_blas_thread_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISTRUST_INFERENCE_BLAS_THREADS", raising=False)
    assert _inference_env(tmp_path)["DISTRUST_INFERENCE_BLAS_THREADS"] == "1"
    monkeypatch.setenv("DISTRUST_INFERENCE_BLAS_THREADS", "0")
    assert _inference_env(tmp_path)["DISTRUST_INFERENCE_BLAS_THREADS"] == "0"

"""`distrust models import`: bad sources and options are refused with a message naming them, before any upload."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A gateway that is never reached: every case here fails before the first request."""
    monkeypatch.setenv("DISTRUST_BASE_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("DISTRUST_API_KEY", "unused")
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "ollama"))


def test_an_ollama_name_that_is_not_installed() -> None:
    result = runner.invoke(app, ["models", "import", "ollama:llama3.2:1b"])
    assert result.exit_code == 1
    assert "ollama model llama3.2:1b is not installed" in result.output and "ollama pull" in result.output


def test_an_unknown_quantization_names_the_option() -> None:
    result = runner.invoke(app, ["models", "import", "model.gguf", "--quantization", "int3"])
    assert result.exit_code == 1 and "--quantization: got 'int3'" in result.output


def test_a_missing_path_names_the_source(tmp_path: Path) -> None:
    result = runner.invoke(app, ["models", "import", str(tmp_path / "nope.gguf")])
    assert result.exit_code == 1 and "source: got" in result.output and "ollama:NAME[:TAG]" in result.output


def test_a_folder_without_weights(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    result = runner.invoke(app, ["models", "import", str(tmp_path)])
    assert result.exit_code == 1 and "the folder holds no weights" in result.output

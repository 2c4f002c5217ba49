"""WordLlama served as an embeddings model: its table's rows mean-pooled in MLX, checked against numpy; real weights."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
from safetensors.numpy import load_file

from services.inference.engine import Engine, GenerationRequest
from services.inference.word_embeddings import WORDLLAMA, WordEmbedder, installed_models
from services.trainer.models.tiny import build_tiny_model
from shared.errors import InvalidArgument


@pytest.fixture(scope="module")
def embedder() -> Iterator[WordEmbedder]:
    files = WORDLLAMA.files()
    assert files is not None, "make install puts the wordllama package (its table and tokenizer) in the venv"
    model = WordEmbedder(WORDLLAMA, *files)
    yield model
    model.close()


def test_a_vector_is_the_normalised_mean_of_its_tokens_rows(embedder: WordEmbedder) -> None:
    files = WORDLLAMA.files()
    assert files is not None
    table = load_file(str(files[0]))[WORDLLAMA.tensor_key].astype(np.float32)
    texts = ["The keeper's logbook for the night of the wreck.", "Rain."]
    result = embedder.embed(texts)
    for text, vector in zip(texts, result.vectors, strict=True):
        mean = table[embedder.encode(text)].mean(axis=0)
        np.testing.assert_allclose(vector, mean / np.linalg.norm(mean), atol=1e-5)
    assert result.prompt_tokens == sum(len(embedder.encode(t)) for t in texts)
    assert embedder.embed([embedder.encode(texts[1])]).vectors == [result.vectors[1]]  # token ids as input
    short = np.array(embedder.embed(texts, dimensions=64).vectors)
    np.testing.assert_allclose(np.linalg.norm(short, axis=1), 1.0, atol=1e-5)
    assert short.shape == (2, 64) and embedder.dimensions == 256


def test_trained_weights_put_related_sentences_closer_than_unrelated_ones(embedder: WordEmbedder) -> None:
    storm = "The captain wrote in his logbook that the storm struck at dawn."
    same = "According to the ship's log, the gale hit early in the morning."
    cake = "Beat the butter and sugar, then fold in the flour for the cake."
    a, b, c = (np.array(v) for v in embedder.embed([storm, same, cake]).vectors)
    assert a @ b > max(a @ c, b @ c) + 0.15  # measured: 0.35 against 0.10


@pytest.mark.parametrize(
    ("inputs", "dimensions", "param"),
    [
        ([], None, "input"),
        ([""], None, "input[0]"),
        (["ok", [1, 32000]], None, "input[1]"),
        (["word " * 9000], None, "input[0]"),
        (["ok"], 257, "dimensions"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    embedder: WordEmbedder, inputs: list[object], dimensions: int | None, param: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        embedder.embed(inputs, dimensions)  # type: ignore[arg-type]  # bad on purpose
    assert raised.value.param == param


def test_the_installed_package_is_found() -> None:
    assert list(installed_models()) == [WORDLLAMA.name]


def test_embeddings_run_while_the_engine_generates_and_do_not_change(
    embedder: WordEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = build_tiny_model(tmp_path_factory.mktemp("gen") / "base", seed=0, hidden_size=64, num_layers=2)
    texts = ["the storm hit at dawn", "a letter from the archive"]
    alone = embedder.embed(texts).vectors
    stop = threading.Event()

    def generate(engine: Engine) -> None:
        while not stop.is_set():
            handles = [
                engine.submit(GenerationRequest(prompt=f"x {i}", max_tokens=16, temperature=0)) for i in range(8)
            ]
            for handle in handles:
                list(handle)

    with Engine(base, max_batch_size=8) as engine:
        thread = threading.Thread(target=generate, args=(engine,))
        thread.start()
        try:
            assert all(embedder.embed(texts).vectors == alone for _ in range(100))
        finally:
            stop.set()
            thread.join()
        assert engine.stats().steps > 0


def test_tokenize_gives_each_tokens_characters_for_the_word_model_and_a_base(
    embedder: WordEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text = "The keeper's logbook, 14 March 1923:\nthe surge rose 2.1 m — measured."
    spans = embedder.tokenize(text)
    assert len(spans.spans) == len(embedder.encode(text)) and spans.context_length == WORDLLAMA.context_length
    assert all(0 <= a < b <= len(text) for a, b in spans.spans)
    assert [a for a, _ in spans.spans] == sorted(a for a, _ in spans.spans)
    assert "".join("".join(text[a:b].split()) for a, b in spans.spans) == "".join(text.split())
    base = build_tiny_model(tmp_path_factory.mktemp("tok") / "base", seed=0, hidden_size=64, num_layers=2)
    with Engine(base, max_batch_size=2) as engine:
        found = engine.tokenize(text)
        assert found.context_length == engine.context_length and found.spans
        assert found.spans[-1][1] == len(text) and all(0 <= a <= b <= len(text) for a, b in found.spans)

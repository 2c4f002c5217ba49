"""The model registry against real Redis and S3: registration, ownership, concurrent cached fetches."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis as redis_lib

from shared.adapter_format import ADAPTER_CONFIG, ADAPTER_WEIGHTS
from shared.errors import AlreadyExists, InvalidArgument, NotFound
from shared.model_registry import AdapterRecord, ModelRegistry
from shared.storage import Bucket, ObjectStore


@pytest.fixture
def registry(redis_client: redis_lib.Redis, store: ObjectStore) -> ModelRegistry:
    return ModelRegistry(redis_client, store)


def _model(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "max_position_embeddings": 64}))
    (folder / "weights.bin").write_bytes(bytes(range(256)) * 1000)
    return folder


def test_register_fetch_and_list(registry: ModelRegistry, tmp_path: Path) -> None:
    record = registry.register_base("m1", _model(tmp_path), info={"num_layers": 2})
    assert record.context_length == 64 and record.info == {"num_layers": 2}
    assert [r.name for r in registry.list_base()] == ["m1"]
    local = registry.fetch_base("m1", tmp_path / "cache")
    assert (local / "weights.bin").read_bytes() == (tmp_path / "model" / "weights.bin").read_bytes()
    with pytest.raises(NotFound, match="available: m1"):
        registry.require_base("m2")
    with pytest.raises(InvalidArgument):
        registry.register_base("bad name!", _model(tmp_path / "x"))


def test_concurrent_fetches_of_one_adapter_all_succeed(
    registry: ModelRegistry, store: ObjectStore, tmp_path: Path
) -> None:
    files = {}
    for name, data in ((ADAPTER_WEIGHTS, b"w" * 300_000), (ADAPTER_CONFIG, b"{}")):
        files[name] = store.put_bytes(Bucket.ADAPTERS, f"ftjob-c/{name}", data).sha256 or ""
    record = AdapterRecord(name="ft:m:x:c", job_id="ftjob-c", owner="alice", base_model="m", created=0, files=files)
    registry.register_adapter(record)
    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda _: registry.fetch_adapter(record, tmp_path / "cache"), range(8)))
    assert len(set(paths)) == 1 and (paths[0] / ADAPTER_WEIGHTS).stat().st_size == 300_000
    assert sorted(p.name for p in paths[0].parent.iterdir()) == [paths[0].name]  # no leftovers
    with pytest.raises(NotFound):
        registry.get_adapter("ft:m:x:c", owner="bob")
    assert [a.name for a in registry.list_adapters("alice")] == ["ft:m:x:c"]


def test_a_reserved_name_is_registered_only_by_its_holder(registry: ModelRegistry, tmp_path: Path) -> None:
    registry.reserve_name("fused", "export-1", owner="alice")
    registry.reserve_name("fused", "export-1", owner="alice")  # a redelivered export claims it again
    with pytest.raises(AlreadyExists) as info:
        registry.reserve_name("fused", "export-2", owner="alice")
    assert info.value.param == "name"
    with pytest.raises(AlreadyExists, match="export-1"):
        registry.register_base("fused", _model(tmp_path / "a"), owned_by="alice")
    assert registry.get_base("fused", owner="alice") is None
    registry.register_base("fused", _model(tmp_path / "b"), owned_by="alice", reservation="export-1")
    registry.release_name("fused", "export-2", owner="alice")  # not its claim: nothing happens
    with pytest.raises(AlreadyExists, match="export-1"):
        registry.register_base("fused", _model(tmp_path / "c"), owned_by="alice")
    registry.release_name("fused", "export-1", owner="alice")
    with pytest.raises(AlreadyExists):
        registry.reserve_name("fused", "export-3", owner="alice")  # now a registered model holds the name
    assert registry.get_base("fused", owner="alice").owned_by == "alice"  # type: ignore[union-attr]


def test_names_are_per_owner(registry: ModelRegistry, tmp_path: Path) -> None:
    registry.reserve_name("mine", "export-a", owner="alice")
    registry.reserve_name("mine", "export-b", owner="bob")  # alice's claim neither shows nor blocks
    alices = registry.register_base("mine", _model(tmp_path / "a"), owned_by="alice", reservation="export-a")
    bobs = registry.register_base("mine", _model(tmp_path / "b"), owned_by="bob", reservation="export-b")
    assert alices.prefix != bobs.prefix and alices.key != bobs.key
    assert registry.resolve("mine", "alice").base.owned_by == "alice"  # type: ignore[union-attr]
    assert registry.resolve("mine", "bob").base.owned_by == "bob"  # type: ignore[union-attr]
    assert registry.resolve("mine", "carol") is None
    assert registry.get_base("mine") is None  # no shared model of that name
    assert registry.get_base("alice/mine", owner="bob") is None and registry.get_base("alice/mine") is None
    assert [r.owned_by for r in registry.list_visible("alice")] == ["alice"]
    a = registry.fetch_base("mine", tmp_path / "cache", owner="alice")
    b = registry.fetch_base("mine", tmp_path / "cache", owner="bob")
    assert a != b and (a / "weights.bin").exists() and (b / "weights.bin").exists()
    # A shared name is one every owner sees: no owner may shadow it, nor may it take an owner's name.
    registry.register_base("shared", _model(tmp_path / "s"))
    with pytest.raises(AlreadyExists):
        registry.reserve_name("shared", "export-c", owner="carol")
    with pytest.raises(AlreadyExists):
        registry.reserve_name("mine", "import-d")


def test_resolve_gives_visible_bases_and_own_adapters_only(registry: ModelRegistry, tmp_path: Path) -> None:
    registry.register_base("shared-base", _model(tmp_path / "a"))
    registry.register_base("alices-export", _model(tmp_path / "b"), owned_by="alice")
    registry.register_adapter(
        AdapterRecord(
            name="ft:shared-base:x:1", job_id="ftjob-r1", owner="alice", base_model="shared-base", created=1, files={}
        )
    )
    ref = registry.resolve("ft:shared-base:x:1", "alice")
    assert ref is not None and ref.adapter is not None and ref.base_name == "shared-base"
    assert registry.resolve("ft:shared-base:x:1", "bob") is None
    assert registry.resolve("alices-export", "bob") is None
    assert registry.resolve("alices-export", "alice").base_name == "alices-export"  # type: ignore[union-attr]
    assert registry.resolve("shared-base", "bob").adapter is None  # type: ignore[union-attr]
    assert registry.resolve("missing", "alice") is None

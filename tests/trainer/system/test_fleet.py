"""The workers' machines in a real Redis: published with a TTL, refreshed on a heartbeat, and recommended for."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import pytest
import redis as redis_lib

from services.trainer.models.inspect import ModelInfo
from services.trainer.rpc.hardware import recommend_query
from services.trainer.system.blas import BlasInfo
from services.trainer.system.board import HardwareBoard
from services.trainer.system.fleet import Fleet, RecommendQuery
from services.trainer.system.hardware import Hardware, detect_hardware
from services.trainer.system.memory import memory_budget
from services.trainer.system.recommend import memory_options
from services.trainer.system.snapshot import Heartbeat, refreshed, take_snapshot
from shared.errors import FailedPrecondition, InvalidArgument, NotFound
from shared.model_registry import BaseModelRecord, ModelRegistry
from shared.pb.distrust.trainer.v1 import hardware_pb2 as hpb
from shared.rpc.messages import from_message, to_message
from shared.schemas.hardware import HardwareRecommendation, WorkerHardware
from shared.storage import ObjectStore
from tests.helpers.workers import wait_for

MKL = BlasInfo(os="linux", bundled="/x/libblas-1.so", bundled_kind="mkl", target="/y/libmkl_rt.so.2", preloaded=None)


def _worker(machine: Callable[..., Hardware], worker_id: str, gb: float, **kw: object) -> WorkerHardware:
    return take_snapshot("worker", gb * 0.8, hardware=machine(gb, **kw), blas=MKL, worker_id=worker_id)


def _register(client: redis_lib.Redis, name: str, info: ModelInfo | None, owned_by: str = "system") -> None:
    # The registry record only: recommending reads the model's info, never its weights.
    record = BaseModelRecord(
        name=name,
        created=0,
        fingerprint="f",
        files={},
        bytes=0,
        owned_by=owned_by,
        info=None if info is None else dataclasses.asdict(info),
    )
    client.hset("distrust:models", name, record.model_dump_json())


def test_a_snapshot_names_the_budget_and_the_blas(machine: Callable[..., Hardware]) -> None:
    configured = take_snapshot("worker", 12.5, hardware=machine(16), blas=MKL)
    assert configured.budget_bytes == 12_500_000_000 and configured.budget_configured
    assert configured.blas_kind == "mkl" and "Intel MKL" in configured.blas
    here = take_snapshot("trainer", 0)
    assert here.role == "trainer" and not here.budget_configured
    assert here.hardware.os == detect_hardware().os and 0 < here.budget_bytes <= here.hardware.total_memory_bytes
    assert here.budget_bytes == pytest.approx(memory_budget(here.hardware), rel=0.2)  # free memory moves a little


def test_a_refresh_reads_the_memory_again_and_keeps_the_rest(machine: Callable[..., Hardware]) -> None:
    mac = machine(1000, apple=True)
    again = refreshed(mac)
    here = detect_hardware(with_mlx=False)
    assert again.total_memory_bytes == here.total_memory_bytes != mac.total_memory_bytes
    assert again.available_memory_bytes <= again.total_memory_bytes and again.memory_source == here.memory_source
    assert (again.mlx_device, again.metal_available, again.unified_memory) == ("gpu", True, True)


def test_reports_survive_the_contract(machine: Callable[..., Hardware]) -> None:
    worker = _worker(machine, "mac:1", 32, apple=True).model_copy(
        update={"hardware": machine(32, apple=True).model_copy(update={"device_info": {"memory_size": 1 << 35}})}
    )
    assert from_message(WorkerHardware, to_message(hpb.WorkerHardware, worker)) == worker


def test_the_board_keeps_live_workers_only(redis_client: redis_lib.Redis, machine: Callable[..., Hardware]) -> None:
    board = HardwareBoard(redis_client)
    assert board.live() == []
    board.publish(_worker(machine, "b:2", 16), ttl_s=60)
    board.publish(_worker(machine, "a:1", 8), ttl_s=1)
    assert [w.id for w in board.live()] == ["a:1", "b:2"]
    wait_for(lambda: [w.id for w in board.live()] == ["b:2"], 3, "a:1's report to expire")
    assert redis_client.smembers("distrust:hardware:workers") == {"b:2"}
    board.remove("b:2")
    assert board.live() == []


def test_a_heartbeat_refreshes_then_removes_its_report(
    redis_client: redis_lib.Redis, machine: Callable[..., Hardware]
) -> None:
    board = HardwareBoard(redis_client)
    beats: list[int] = []

    def snapshot() -> WorkerHardware:
        beats.append(len(beats))
        return _worker(machine, "w:1", 16 + len(beats))

    heartbeat = Heartbeat(board, snapshot, interval_s=0.05)
    first = heartbeat.start()
    assert board.live() == [first]
    wait_for(lambda: len(beats) >= 3, 5, "two more beats")
    assert board.live()[0].hardware.total_memory_bytes > first.hardware.total_memory_bytes
    assert 0 < redis_client.ttl("distrust:hardware:worker:w:1") <= 1
    heartbeat.stop()
    count = len(beats)
    time.sleep(0.2)
    assert board.live() == [] and len(beats) == count


@pytest.fixture
def fleet(redis_client: redis_lib.Redis, store: ObjectStore, machine: Callable[..., Hardware]) -> Fleet:
    return Fleet(HardwareBoard(redis_client), ModelRegistry(redis_client, store), lambda: _worker(machine, "t:0", 64))


def test_the_trainers_machine_stands_in_until_a_worker_reports(fleet: Fleet, machine: Callable[..., Hardware]) -> None:
    assert [w.id for w in fleet.list()] == ["t:0"]
    fleet.board.publish(_worker(machine, "big:1", 64), ttl_s=60)
    fleet.board.publish(_worker(machine, "small:2", 16), ttl_s=60)
    assert [w.id for w in fleet.list()] == ["big:1", "small:2"]
    assert fleet.choose(None).id == "small:2" and fleet.choose("big:1").id == "big:1"
    with pytest.raises(NotFound, match="big:1, small:2") as info:
        fleet.choose("gone:3")
    assert info.value.param == "worker"


def test_an_8b_model_on_the_16_gb_worker_in_4_bit(
    fleet: Fleet, redis_client: redis_lib.Redis, llama_8b: ModelInfo, machine: Callable[..., Hardware]
) -> None:
    _register(redis_client, "llama-8b", llama_8b)
    fleet.board.publish(_worker(machine, "big:1", 64), ttl_s=60)
    fleet.board.publish(_worker(machine, "small:2", 16), ttl_s=60)
    request = hpb.RecommendRequest(owner="alice", model="llama-8b", quantize_base=4)
    result = fleet.recommend(recommend_query(request))
    assert result.worker.id == "small:2" and result.recommendation.budget_bytes == result.worker.budget_bytes
    assert result.recommendation.estimate.quantize_bits == 4 and result.recommendation.seq_len == 512
    assert result.recommendation.estimate.total_bytes <= 16 * 0.8e9
    assert from_message(HardwareRecommendation, to_message(hpb.HardwareRecommendation, result)) == result
    half = memory_options("bfloat16")
    on_big = fleet.recommend(RecommendQuery(owner="alice", model="llama-8b", hyperparameters=half, worker="big:1"))
    assert on_big.worker.id == "big:1" and on_big.recommendation.dtype == "bfloat16"


def test_what_cannot_be_recommended(fleet: Fleet, redis_client: redis_lib.Redis, tiny_info: ModelInfo) -> None:
    _register(redis_client, "bobs", tiny_info, owned_by="bob")
    _register(redis_client, "bare", None)
    with pytest.raises(NotFound) as missing:
        fleet.recommend(RecommendQuery(owner="alice", model="nope"))
    with pytest.raises(NotFound) as hidden:
        fleet.recommend(RecommendQuery(owner="alice", model="bobs"))
    assert missing.value.param == hidden.value.param == "model"
    assert fleet.recommend(RecommendQuery(owner="bob", model="bobs")).recommendation.lora_layers == tiny_info.num_layers
    with pytest.raises(FailedPrecondition, match="without its details"):
        fleet.recommend(RecommendQuery(owner="alice", model="bare"))
    with pytest.raises(InvalidArgument) as bad:
        fleet.recommend(recommend_query(hpb.RecommendRequest(owner="bob", model="bobs", precision="int8")))
    assert bad.value.param == "precision"

"""The scorer gRPC service over a real socket, with real Redis and S3 behind it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import grpc
import pytest

from services.scorer.scoring import score_batch
from shared.files import FileService
from shared.pb.distrust.scorer.v1 import scorer_pb2 as pb
from shared.pb.distrust.scorer.v1 import scorer_pb2_grpc
from shared.rpc.client import open_channel
from shared.rpc.structs import from_struct, to_struct
from shared.schemas.preparation import PreparationOptions
from shared.storage import Bucket

TEXTS = [
    "According to the 1923 patent filed by the inventor, the laboratory notebook records measurements [1].",
    "The WHO and the CDC said experts agree that the consensus of officials is settled (2021).",
    "short",
    "Letters and observations from 1850 describe the original field notes, see Smith et al. (1851) p. 4.",
]


@pytest.fixture(scope="module")
def stub(scorer_target: str) -> Iterator[scorer_pb2_grpc.ScorerServiceStub]:
    channel = open_channel(scorer_target)
    yield scorer_pb2_grpc.ScorerServiceStub(channel)
    channel.close()


def test_batch_matches_the_library_in_order(stub: scorer_pb2_grpc.ScorerServiceStub) -> None:
    docs = [
        pb.Document(text=t, metadata=to_struct({"source_type": "patent_pre1970"}) if i == 0 else None)
        for i, t in enumerate(TEXTS)
    ]
    response = stub.ScoreBatch(pb.ScoreBatchRequest(documents=docs, profile=pb.PROFILE_REFERENCE))
    expected = list(
        score_batch(
            [(t, {"source_type": "patent_pre1970"} if i == 0 else None) for i, t in enumerate(TEXTS)],
            profile="reference",
        )
    )
    assert [r.auth_weight for r in response.results] == pytest.approx([e.auth_weight for e in expected], abs=1e-12)
    assert [r.prov_entropy for r in response.results] == pytest.approx([e.prov_entropy for e in expected])
    assert [r.scoring_method for r in response.results] == ["hybrid", "dynamic", "default", "dynamic"]
    assert {r.profile for r in response.results} == {"reference"}
    breakdown = response.results[0].breakdown
    assert breakdown.year == 1923 and breakdown.source_type == "patent_pre1970"
    assert response.results[2].breakdown.HasField("year") is False


def test_bad_metadata_names_the_document(stub: scorer_pb2_grpc.ScorerServiceStub) -> None:
    docs = [pb.Document(text=TEXTS[0]), pb.Document(text=TEXTS[0], metadata=to_struct({"year": [1923]}))]
    with pytest.raises(grpc.RpcError) as info:
        stub.ScoreBatch(pb.ScoreBatchRequest(documents=docs))
    assert (
        info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "documents[1].metadata.year" in info.value.details()
    )


def test_oversize_document_is_invalid(stub: scorer_pb2_grpc.ScorerServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as info:
        stub.ScoreBatch(pb.ScoreBatchRequest(documents=[pb.Document(text="x" * 1_000_001)]))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "documents[0].text" in info.value.details()


def test_stream_keeps_order_and_offsets(stub: scorer_pb2_grpc.ScorerServiceStub) -> None:
    chunks = [[f"{TEXTS[(i + j) % 4]} #{i}-{j}" for j in range(50)] for i in range(40)]
    requests = (
        pb.ScoreStreamRequest(documents=[pb.Document(text=t) for t in chunk], profile=pb.PROFILE_STRICT)
        for chunk in chunks
    )
    responses = list(stub.ScoreStream(requests))
    assert [r.offset for r in responses] == [i * 50 for i in range(40)]
    got = [r.auth_weight for resp in responses for r in resp.results]
    expected = [e.auth_weight for e in score_batch([(t, None) for c in chunks for t in c])]
    assert got == pytest.approx(expected)


def test_stream_error_names_the_global_index(stub: scorer_pb2_grpc.ScorerServiceStub) -> None:
    chunks = [[pb.Document(text="fine text " * 10)] * 10 for _ in range(3)]
    chunks[2] = [*chunks[2][:4], pb.Document(text="x", metadata=to_struct({"year": [1]})), *chunks[2][5:]]
    with pytest.raises(grpc.RpcError) as info:
        list(stub.ScoreStream(pb.ScoreStreamRequest(documents=c) for c in chunks))
    assert "documents[24].metadata.year" in info.value.details()


def test_dataset_object_scored_into_a_new_file(
    stub: scorer_pb2_grpc.ScorerServiceStub, files_service: FileService
) -> None:
    lines = [json.dumps({"text": t, "id": i}) for i, t in enumerate(TEXTS)] + ["not json", '{"body": "no text"}']
    # `assistants` files are not validated on upload, so the scorer meets the bad lines itself.
    source = files_service.upload(
        owner="alice",
        filename="docs.jsonl",
        purpose="assistants",
        stream=io.BytesIO(("\n".join(lines) + "\n").encode()),
    )
    events = list(stub.ScoreDataset(pb.ScoreDatasetRequest(owner="alice", file_id=source.id)))
    last = events[-1]
    assert last.done and last.lines_done == 6 and last.lines_rejected == 2
    assert [e.line for e in last.errors] == [5, 6] and all(e.reason for e in last.errors)
    output = files_service.get(owner="alice", file_id=last.output_file_id)
    assert output.purpose == "scored"
    rows = [json.loads(x) for x in files_service.store.get_bytes(Bucket.FILES, output.storage_key).splitlines()]
    expected = list(score_batch([(t, {"id": i}) for i, t in enumerate(TEXTS)]))
    assert [r["id"] for r in rows] == [0, 1, 2, 3]
    assert [r["auth_weight"] for r in rows] == pytest.approx([e.auth_weight for e in expected], abs=1e-6)
    assert rows[2]["scoring_method"] == "default"


def test_dataset_of_another_owner_is_not_found(
    stub: scorer_pb2_grpc.ScorerServiceStub, files_service: FileService
) -> None:
    source = files_service.upload(owner="alice", filename="d.jsonl", purpose="raw", stream=io.BytesIO(b'{"a":1}\n'))
    with pytest.raises(grpc.RpcError) as info:
        list(stub.ScoreDataset(pb.ScoreDatasetRequest(owner="bob", file_id=source.id)))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def _wait(stub: scorer_pb2_grpc.ScorerServiceStub, owner: str, job_id: str) -> list[pb.PreparationJob]:
    return list(stub.WatchPreparation(pb.GetPreparationRequest(owner=owner, job_id=job_id), timeout=60))


def _options(**values: object) -> pb.PreparationOptions:
    options = PreparationOptions.model_validate(values).model_dump()
    return pb.PreparationOptions(**{**options, "profile": pb.PROFILE_STRICT})


def test_preparation_job_writes_train_val_report(
    stub: scorer_pb2_grpc.ScorerServiceStub, files_service: FileService
) -> None:
    rows = [
        {"text": f"{TEXTS[i % 4]} Record number {i} with extra words to pass the minimum length."} for i in range(60)
    ] + [{"oops": 1}]
    raw = files_service.upload(
        owner="alice",
        filename="mixed.jsonl",
        purpose="raw",
        stream=io.BytesIO("\n".join(json.dumps(r) for r in rows).encode()),
    )
    request = pb.CreatePreparationRequest(
        owner="alice",
        inputs=[pb.PreparationInput(file_id=raw.id)],
        options=_options(seed=7, val_fraction=0.2, rebalance=False, min_length=20),
    )
    created = stub.CreatePreparation(request)
    assert created.status == pb.JOB_STATUS_QUEUED and created.id.startswith("dsjob-")
    states = _wait(stub, "alice", created.id)
    last = states[-1]
    assert last.status == pb.JOB_STATUS_SUCCEEDED, last
    assert last.progress.stage == "done" and last.options.seed == 7
    report = from_struct(last.report)
    train = files_service.get(owner="alice", file_id=last.train_file)
    val = files_service.get(owner="alice", file_id=last.validation_file)
    assert train.purpose == "fine-tune" and train.lines == report["split"]["train"]
    assert val.lines == report["split"]["val"] and train.lines + val.lines <= 60
    assert report["rejected"]["total"] == 1 and report["rejected"]["lines"][0]["line"] == 61
    first = json.loads(files_service.store.get_bytes(Bucket.FILES, train.storage_key).splitlines()[0])
    assert 0 <= first["auth_weight"] <= 0.99 and first["prov_entropy"] >= 0
    again = stub.GetPreparation(pb.GetPreparationRequest(owner="alice", job_id=created.id))
    assert again == last
    with pytest.raises(grpc.RpcError) as info:
        stub.GetPreparation(pb.GetPreparationRequest(owner="bob", job_id=created.id))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_preparation_refuses_bad_options_and_foreign_files(
    stub: scorer_pb2_grpc.ScorerServiceStub, files_service: FileService
) -> None:
    raw = files_service.upload(owner="alice", filename="r.jsonl", purpose="raw", stream=io.BytesIO(b'{"a":1}\n'))
    options = _options()
    options.val_fraction = 2
    with pytest.raises(grpc.RpcError) as info:
        stub.CreatePreparation(
            pb.CreatePreparationRequest(owner="alice", inputs=[pb.PreparationInput(file_id=raw.id)], options=options)
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "val_fraction" in info.value.details()
    with pytest.raises(grpc.RpcError) as info:
        stub.CreatePreparation(
            pb.CreatePreparationRequest(owner="bob", inputs=[pb.PreparationInput(file_id=raw.id)], options=_options())
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND and "inputs[0].file_id" in info.value.details()

"""Model aliases over HTTP against real Redis and S3: set, resolve, move, history, rollback, owner isolation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from shared.aliases import AliasRecord, AliasStore
from shared.errors import FailedPrecondition
from shared.model_registry import AdapterRecord, ModelRegistry
from shared.storage import ObjectStore
from tests.gateway.users import ALICE, BOB


@pytest.fixture
def registry(redis_client: redis_lib.Redis, store: ObjectStore, tmp_path: Path) -> ModelRegistry:
    registry = ModelRegistry(redis_client, store)
    folder = tmp_path / "base"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    registry.register_base("tiny", folder)
    for owner, job in (("alice", "a1"), ("alice", "a2"), ("bob", "b1")):
        registry.register_adapter(
            AdapterRecord(
                name=f"ft:tiny:bot:{job}", job_id=f"ftjob-{job}", owner=owner, base_model="tiny", created=0, files={}
            )
        )
    return registry


def _error(response: object) -> dict[str, str]:
    return response.json()["error"]  # type: ignore[attr-defined, no-any-return]


def test_an_alias_moves_and_resolves_to_its_target(client: TestClient, registry: ModelRegistry) -> None:
    created = client.put("/v1/aliases/support", headers=ALICE, json={"model": "ft:tiny:bot:a1"})
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["id"] == "ft:alias:support" and body["object"] == "model.alias" and body["model"] == "ft:tiny:bot:a1"
    assert [c["reason"] for c in body["history"]] == ["set"] and body["history"][0]["previous"] is None
    ref = registry.resolve("ft:alias:support", "alice")
    assert ref is not None and ref.name == "ft:alias:support" and ref.adapter and ref.adapter.name == "ft:tiny:bot:a1"
    assert registry.get_adapter("ft:alias:support", owner="alice").job_id == "ftjob-a1"

    moved = client.put("/v1/aliases/ft:alias:support", headers=ALICE, json={"model": "ft:tiny:bot:a2"}).json()
    assert moved["model"] == "ft:tiny:bot:a2" and moved["history"][0]["previous"] == "ft:tiny:bot:a1"
    ref = registry.resolve("ft:alias:support", "alice")
    assert ref is not None and ref.adapter and ref.adapter.name == "ft:tiny:bot:a2"  # followed at once
    to_base = client.put("/v1/aliases/support", headers=ALICE, json={"model": "tiny"}).json()
    assert to_base["model"] == "tiny" and (r := registry.resolve("ft:alias:support", "alice")) and r.adapter is None

    rolled = client.post("/v1/aliases/support/rollback", headers=ALICE)
    assert rolled.status_code == 200 and rolled.json()["model"] == "ft:tiny:bot:a2", rolled.text
    assert rolled.json()["history"][0]["reason"] == "rollback"
    chosen = client.post("/v1/aliases/support/rollback", headers=ALICE, json={"model": "ft:tiny:bot:a1"})
    assert chosen.status_code == 200 and chosen.json()["model"] == "ft:tiny:bot:a1"
    never = client.post("/v1/aliases/support/rollback", headers=ALICE, json={"model": "ft:tiny:bot:zz"})
    assert never.status_code == 400 and _error(never)["param"] == "model" and "pointed at before" in never.text

    listed = client.get("/v1/aliases", headers=ALICE).json()
    assert [a["id"] for a in listed["data"]] == ["ft:alias:support"] and listed["data"][0]["history"] == []
    history = client.get("/v1/aliases/support", headers=ALICE).json()["history"]
    assert [c["model"] for c in history] == [
        "ft:tiny:bot:a1",
        "ft:tiny:bot:a2",
        "tiny",
        "ft:tiny:bot:a2",
        "ft:tiny:bot:a1",
    ]


def test_aliases_are_the_owners_own(client: TestClient, registry: ModelRegistry) -> None:
    foreign = client.put("/v1/aliases/support", headers=ALICE, json={"model": "ft:tiny:bot:b1"})
    assert foreign.status_code == 404 and _error(foreign)["param"] == "model", foreign.text
    assert _error(foreign)["code"] == "model_not_found"
    client.put("/v1/aliases/support", headers=ALICE, json={"model": "ft:tiny:bot:a1"})
    assert client.get("/v1/aliases/support", headers=BOB).status_code == 404
    assert registry.resolve("ft:alias:support", "bob") is None
    assert client.get("/v1/aliases", headers=BOB).json()["data"] == []
    # Bob's alias of the same name is his own and points at his own model.
    assert client.put("/v1/aliases/support", headers=BOB, json={"model": "ft:tiny:bot:b1"}).status_code == 200
    alice_ref = registry.resolve("ft:alias:support", "alice")
    assert alice_ref is not None and alice_ref.adapter and alice_ref.adapter.owner == "alice"


def test_bad_alias_requests_name_the_field(client: TestClient, registry: ModelRegistry) -> None:
    bad_name = client.put("/v1/aliases/bad name!", headers=ALICE, json={"model": "tiny"})
    assert bad_name.status_code == 400 and _error(bad_name)["param"] == "name"
    chained = client.put("/v1/aliases/b", headers=ALICE, json={"model": "ft:alias:a"})
    assert chained.status_code == 400 and _error(chained)["param"] == "model" and "not another alias" in chained.text
    extra = client.put("/v1/aliases/b", headers=ALICE, json={"model": "tiny", "gate": {}})
    assert extra.status_code == 400 and "gate" in extra.text
    missing = client.get("/v1/aliases/none", headers=ALICE)
    assert missing.status_code == 404 and _error(missing)["code"] == "alias_not_found"
    client.put("/v1/aliases/fresh", headers=ALICE, json={"model": "tiny"})
    nothing_before = client.post("/v1/aliases/fresh/rollback", headers=ALICE)
    assert nothing_before.status_code == 409 and _error(nothing_before)["code"] == "alias_no_history"
    deleted = client.delete("/v1/aliases/fresh", headers=ALICE)
    assert deleted.status_code == 200 and deleted.json() == {
        "id": "ft:alias:fresh",
        "object": "model.alias.deleted",
        "deleted": True,
    }
    assert client.get("/v1/aliases/fresh", headers=ALICE).status_code == 404
    assert registry.get_base("tiny") is not None  # the model stays


def test_a_conditional_move_is_refused_when_the_alias_moved_meanwhile(redis_client: redis_lib.Redis) -> None:
    store = AliasStore(redis_client)
    store.move("alice", "bot", "m1")

    def only_from_m0(current: AliasRecord | None) -> str | None:
        return None if current is not None and current.model == "m0" else "moved meanwhile"

    with pytest.raises(FailedPrecondition, match="moved meanwhile"):
        store.move("alice", "bot", "m2", unless=only_from_m0)
    assert store.require("alice", "bot").model == "m1" and len(store.history("alice", "bot")) == 1

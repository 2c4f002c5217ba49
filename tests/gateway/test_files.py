"""Files API over HTTP against real Redis and S3."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from openai.types import FileDeleted, FileObject

from shared.storage import Bucket, ObjectStore
from tests.gateway.users import ALICE, BOB

GOOD = (
    b'{"text": "a primary source", "auth_weight": 0.05, "prov_entropy": 7.5}\n'
    b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n'
)


def upload(
    client: TestClient, data: bytes, *, purpose: str = "fine-tune", headers: dict = ALICE, name: str = "train.jsonl"
):
    return client.post(
        "/v1/files", headers=headers, data={"purpose": purpose}, files={"file": (name, data, "application/jsonl")}
    )


def test_upload_retrieve_download_list_delete(client: TestClient) -> None:
    response = upload(client, GOOD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "file" and body["id"].startswith("file-") and body["bytes"] == len(GOOD)
    assert body["purpose"] == "fine-tune" and body["filename"] == "train.jsonl" and body["lines"] == 2
    assert "owner" not in body
    assert FileObject.model_validate(body).status == "processed"
    file_id = body["id"]
    assert client.get(f"/v1/files/{file_id}", headers=ALICE).json() == body
    content = client.get(f"/v1/files/{file_id}/content", headers=ALICE)
    assert content.status_code == 200 and content.content == GOOD
    listing = client.get("/v1/files", headers=ALICE).json()
    assert listing["object"] == "list" and [f["id"] for f in listing["data"]] == [file_id]
    assert [FileObject.model_validate(f).id for f in listing["data"]] == [listing["first_id"]] == [listing["last_id"]]
    deleted = client.delete(f"/v1/files/{file_id}", headers=ALICE)
    assert deleted.json() == {"id": file_id, "object": "file", "deleted": True}
    assert FileDeleted.model_validate(deleted.json()).deleted
    assert client.get(f"/v1/files/{file_id}", headers=ALICE).status_code == 404


def test_malformed_jsonl_is_rejected_with_line_numbers_and_nothing_stored(
    client: TestClient, store: ObjectStore
) -> None:
    before = {i.key for i in store.list(Bucket.FILES)}
    bad = GOOD + b'not json\n{"text": "x", "auth_weight": 1.5}\n[1, 2]\n{"text": "fine"}\n'
    response = upload(client, bad)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == "file" and error["code"] == "invalid_file"
    assert "line 3: invalid JSON" in error["message"]
    assert "line 4" in error["message"] and "auth_weight" in error["message"]
    assert "line 5: expected a JSON object" in error["message"]
    assert client.get("/v1/files", headers=ALICE).json()["data"] == []
    assert {i.key for i in store.list(Bucket.FILES)} == before


def test_raw_purpose_only_needs_json_objects(client: TestClient) -> None:
    assert upload(client, b'{"abstract": "no text field", "year": 1901}\n', purpose="raw").status_code == 200
    assert upload(client, b'"a string"\n', purpose="raw").status_code == 400


def test_oversize_upload_is_413_and_nothing_stored(client: TestClient, store: ObjectStore) -> None:
    before = {i.key for i in store.list(Bucket.FILES)}
    big = b'{"text": "' + b"x" * 200_000 + b'"}\n'
    response = upload(client, big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert {i.key for i in store.list(Bucket.FILES)} == before


def test_bad_purpose_names_the_field(client: TestClient) -> None:
    response = upload(client, GOOD, purpose="training")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "purpose" and "'training'" in response.json()["error"]["message"]


def test_missing_file_part(client: TestClient) -> None:
    response = client.post("/v1/files", headers=ALICE, data={"purpose": "fine-tune"}, files={"other": ("x", b"y")})
    assert response.status_code == 400 and response.json()["error"]["param"] == "file"


def test_list_filters_and_paginates(client: TestClient) -> None:
    ids = [upload(client, GOOD, name=f"f{i}.jsonl").json()["id"] for i in range(3)]
    raw_id = upload(client, b'{"a": 1}\n', purpose="raw").json()["id"]
    page = client.get("/v1/files", headers=ALICE, params={"limit": 2}).json()
    assert [f["id"] for f in page["data"]] == [raw_id, ids[2]] and page["has_more"] is True
    rest = client.get("/v1/files", headers=ALICE, params={"limit": 2, "after": page["last_id"]}).json()
    assert [f["id"] for f in rest["data"]] == [ids[1], ids[0]] and rest["has_more"] is False
    only_raw = client.get("/v1/files", headers=ALICE, params={"purpose": "raw"}).json()
    assert [f["id"] for f in only_raw["data"]] == [raw_id]
    assert client.get("/v1/files", headers=ALICE, params={"order": "sideways"}).status_code == 400


def test_another_owners_file_is_not_found(client: TestClient) -> None:
    file_id = upload(client, GOOD).json()["id"]
    for method, path in [
        ("GET", f"/v1/files/{file_id}"),
        ("GET", f"/v1/files/{file_id}/content"),
        ("DELETE", f"/v1/files/{file_id}"),
    ]:
        response = client.request(method, path, headers=BOB)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "file_not_found"
    assert client.get("/v1/files", headers=BOB).json()["data"] == []
    assert client.get(f"/v1/files/{file_id}", headers=ALICE).status_code == 200


def test_download_streams_large_content(client: TestClient, gateway_settings) -> None:
    line = json.dumps({"text": "y" * 900}).encode() + b"\n"
    data = line * 60  # ~54 KB, under the 64 KB test limit
    file_id = upload(client, data).json()["id"]
    with client.stream("GET", f"/v1/files/{file_id}/content", headers=ALICE) as response:
        assert response.headers["content-length"] == str(len(data))
        assert b"".join(response.iter_bytes()) == data


def test_any_file_name_downloads_with_a_safe_content_disposition(client: TestClient) -> None:
    from email.message import Message
    from urllib.parse import unquote

    for name in ["отчёт 2024.jsonl", "数据.jsonl", "notes 🚀.jsonl", 'say "hi".jsonl', "back\\slash.jsonl"]:
        response = upload(client, GOOD, name=name)
        assert response.status_code == 200, (name, response.text)
        stored = response.json()["filename"]
        content = client.get(f"/v1/files/{response.json()['id']}/content", headers=ALICE)
        assert content.status_code == 200 and content.content == GOOD, name
        header = content.headers["content-disposition"]
        assert header.isascii()
        parsed = Message()
        parsed["content-disposition"] = header
        exact = re.search(r"filename\*=UTF-8''(\S+)", header)
        assert (unquote(exact.group(1)) if exact else parsed.get_filename()) == stored, (header, stored)


def test_control_characters_in_a_file_name_are_refused(client: TestClient) -> None:
    for name in [b"a\x00b.jsonl", b"line\rbreak.jsonl", b"tab\t.jsonl"]:
        # Raw multipart: httpx would percent-encode the control characters itself.
        body = (
            b'--xx\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
            b'--xx\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
            b"Content-Type: application/jsonl\r\n\r\n" + GOOD + b"\r\n--xx--\r\n"
        )
        headers = {**ALICE, "content-type": "multipart/form-data; boundary=xx"}
        response = client.post("/v1/files", headers=headers, content=body)
        assert response.status_code == 400, (name, response.text)
        error = response.json()["error"]
        assert error["param"] == "file" or error["message"] == "Invalid multipart data.", response.text

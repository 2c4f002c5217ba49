"""OpenAI's vector stores: stores, their files and file batches (ingested by the vectors worker), and search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from services.gateway.deps import JOB_SLOT, InferenceDep, Owner, VectorStoresDep
from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.vector_stores import (
    CreateFileBatch,
    CreateVectorStore,
    CreateVectorStoreFile,
    Deleted,
    FileBatch,
    ModifyVectorStore,
    SearchResult,
    SearchResultsPage,
    SearchVectorStore,
    UpdateVectorStoreFile,
    VectorStore,
    VectorStoreFile,
)
from services.gateway.trainer_client import page
from services.retrieval.records import FileBatchRecord, FileStatus, VectorStoreRecord
from services.retrieval.search import check_embedding_model, search
from services.retrieval.service import VectorStoreService

router = APIRouter(prefix="/v1/vector_stores", tags=["vector stores"])
Limit = Annotated[int, Query(ge=1, le=100)]


def _store(service: VectorStoreService, record: VectorStoreRecord) -> VectorStore:
    counts, usage = service.counts(record.id)
    return VectorStore.of(record, counts, usage)


def _batch(service: VectorStoreService, record: FileBatchRecord) -> FileBatch:
    return FileBatch(
        id=record.id,
        created_at=record.created_at,
        vector_store_id=record.vector_store_id,
        status=record.batch_status,
        file_counts=service.batch_counts(record),
    )


def _files_page(
    stores: VectorStoreService,
    owner: str,
    store_id: str,
    after: str | None,
    limit: int,
    status: FileStatus | None,
    batch_id: str | None,
) -> ListResponse[VectorStoreFile]:
    if batch_id is not None:
        stores.get_batch(owner, store_id, batch_id)
    records, more = stores.list_files(owner, store_id, after=after, limit=limit, status=status, batch_id=batch_id)
    return page([VectorStoreFile.of(r) for r in records], more)


@router.post("", summary="Create a vector store", response_model=VectorStore, dependencies=[JOB_SLOT])
async def create_vector_store(
    body: CreateVectorStore, request: Request, owner: Owner, stores: VectorStoresDep, inference: InferenceDep
) -> VectorStore:
    """A new store; its files (if any) are ingested as its first file batch."""
    model = body.embedding_model or request.app.state.settings.vector_store_embedding_model
    await check_embedding_model(inference, owner, model)

    def create() -> VectorStore:
        record = stores.create(
            owner,
            embedding_model=model,
            name=body.name,
            description=body.description,
            metadata=body.metadata,
            file_ids=body.file_ids,
            chunking=body.chunking_strategy,
        )
        return _store(stores, record)

    return await run_in_threadpool(create)


@router.get("", summary="List vector stores", response_model=ListResponse[VectorStore])
async def list_vector_stores(
    owner: Owner, stores: VectorStoresDep, after: str | None = None, limit: Limit = 20
) -> ListResponse[VectorStore]:
    """A page of the caller's stores, newest first."""

    def listed() -> ListResponse[VectorStore]:
        records, more = stores.list(owner, after=after, limit=limit)
        return page([_store(stores, r) for r in records], more)

    return await run_in_threadpool(listed)


@router.get("/{vector_store_id}", summary="Retrieve a vector store", response_model=VectorStore)
async def get_vector_store(vector_store_id: str, owner: Owner, stores: VectorStoresDep) -> VectorStore:
    """One of the caller's stores, with its file counts."""
    return await run_in_threadpool(lambda: _store(stores, stores.get(owner, vector_store_id)))


@router.post("/{vector_store_id}", summary="Modify a vector store", response_model=VectorStore)
async def modify_vector_store(
    vector_store_id: str, body: ModifyVectorStore, owner: Owner, stores: VectorStoresDep
) -> VectorStore:
    """A new name or metadata for the store."""

    def modify() -> VectorStore:
        return _store(stores, stores.modify(owner, vector_store_id, name=body.name, metadata=body.metadata))

    return await run_in_threadpool(modify)


@router.delete("/{vector_store_id}", summary="Delete a vector store", response_model=Deleted)
async def delete_vector_store(vector_store_id: str, owner: Owner, stores: VectorStoresDep) -> Deleted:
    """The store, its file records and its chunks (the stored files stay)."""
    record = await run_in_threadpool(stores.delete, owner, vector_store_id)
    return Deleted(id=record.id, object="vector_store.deleted")


@router.post("/{vector_store_id}/search", summary="Search a vector store", response_model=SearchResultsPage)
async def search_vector_store(
    vector_store_id: str, body: SearchVectorStore, owner: Owner, stores: VectorStoresDep, inference: InferenceDep
) -> SearchResultsPage:
    """The chunks most relevant to the query, blended with their provenance prior by `ranking_options.distrust`."""
    query, found = await search(
        stores,
        inference,
        owner,
        vector_store_id,
        body.query,
        max_num_results=body.max_num_results,
        filters=body.filters,
        ranking=body.ranking_options,
    )
    weight = body.ranking_options.distrust
    return SearchResultsPage(search_query=[query], data=[SearchResult.of(f, weight) for f in found])


@router.post(
    "/{vector_store_id}/files",
    summary="Attach a file to a vector store",
    response_model=VectorStoreFile,
    dependencies=[JOB_SLOT],
)
async def create_vector_store_file(
    vector_store_id: str, body: CreateVectorStoreFile, owner: Owner, stores: VectorStoresDep
) -> VectorStoreFile:
    """Queue the file's ingestion (chunked, scored, embedded, indexed); its status says when it is searchable."""

    def attach() -> VectorStoreFile:
        stores.add_files(
            owner,
            vector_store_id,
            [body.file_id],
            chunking=body.chunking_strategy,
            attributes=body.attributes,
            field="file_id",
        )
        return VectorStoreFile.of(stores.get_file(owner, vector_store_id, body.file_id))

    return await run_in_threadpool(attach)


@router.get(
    "/{vector_store_id}/files", summary="List a vector store's files", response_model=ListResponse[VectorStoreFile]
)
async def list_vector_store_files(
    vector_store_id: str,
    owner: Owner,
    stores: VectorStoresDep,
    after: str | None = None,
    limit: Limit = 20,
    filter: FileStatus | None = None,  # OpenAI's name
) -> ListResponse[VectorStoreFile]:
    """A page of the store's files, newest first; `filter` keeps one status."""
    return await run_in_threadpool(_files_page, stores, owner, vector_store_id, after, limit, filter, None)


@router.get(
    "/{vector_store_id}/files/{file_id}", summary="Retrieve a vector store file", response_model=VectorStoreFile
)
async def get_vector_store_file(
    vector_store_id: str, file_id: str, owner: Owner, stores: VectorStoresDep
) -> VectorStoreFile:
    """One file of the store, with its ingestion status and `last_error`."""
    return VectorStoreFile.of(await run_in_threadpool(stores.get_file, owner, vector_store_id, file_id))


@router.post(
    "/{vector_store_id}/files/{file_id}",
    summary="Update a vector store file's attributes",
    response_model=VectorStoreFile,
)
async def update_vector_store_file(
    vector_store_id: str, file_id: str, body: UpdateVectorStoreFile, owner: Owner, stores: VectorStoresDep
) -> VectorStoreFile:
    """New attributes for the file (filters read them)."""
    record = await run_in_threadpool(stores.update_file, owner, vector_store_id, file_id, body.attributes)
    return VectorStoreFile.of(record)


@router.delete(
    "/{vector_store_id}/files/{file_id}", summary="Remove a file from a vector store", response_model=Deleted
)
async def delete_vector_store_file(
    vector_store_id: str, file_id: str, owner: Owner, stores: VectorStoresDep
) -> Deleted:
    """The file leaves the store with all its chunks; the stored file stays."""
    record = await run_in_threadpool(stores.delete_file, owner, vector_store_id, file_id)
    return Deleted(id=record.id, object="vector_store.file.deleted")


@router.post(
    "/{vector_store_id}/file_batches",
    summary="Attach several files to a vector store",
    response_model=FileBatch,
    dependencies=[JOB_SLOT],
)
async def create_file_batch(
    vector_store_id: str, body: CreateFileBatch, owner: Owner, stores: VectorStoresDep
) -> FileBatch:
    """Queue the ingestion of several files with the same chunking and attributes."""

    def attach() -> FileBatch:
        record = stores.add_files(
            owner, vector_store_id, body.file_ids, chunking=body.chunking_strategy, attributes=body.attributes
        )
        return _batch(stores, record)

    return await run_in_threadpool(attach)


@router.get("/{vector_store_id}/file_batches/{batch_id}", summary="Retrieve a file batch", response_model=FileBatch)
async def get_file_batch(vector_store_id: str, batch_id: str, owner: Owner, stores: VectorStoresDep) -> FileBatch:
    """One file batch, with its file counts."""
    return await run_in_threadpool(lambda: _batch(stores, stores.get_batch(owner, vector_store_id, batch_id)))


@router.post(
    "/{vector_store_id}/file_batches/{batch_id}/cancel", summary="Cancel a file batch", response_model=FileBatch
)
async def cancel_file_batch(vector_store_id: str, batch_id: str, owner: Owner, stores: VectorStoresDep) -> FileBatch:
    """Files already indexed stay; the others end `cancelled` with none of their chunks searchable."""
    return await run_in_threadpool(lambda: _batch(stores, stores.cancel_batch(owner, vector_store_id, batch_id)))


@router.get(
    "/{vector_store_id}/file_batches/{batch_id}/files",
    summary="List a file batch's files",
    response_model=ListResponse[VectorStoreFile],
)
async def list_file_batch_files(
    vector_store_id: str,
    batch_id: str,
    owner: Owner,
    stores: VectorStoresDep,
    after: str | None = None,
    limit: Limit = 20,
    filter: FileStatus | None = None,  # OpenAI's name
) -> ListResponse[VectorStoreFile]:
    """A page of the batch's files; `filter` keeps one status."""
    return await run_in_threadpool(_files_page, stores, owner, vector_store_id, after, limit, filter, batch_id)

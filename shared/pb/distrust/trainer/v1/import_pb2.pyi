from shared.pb.distrust.trainer.v1 import trainer_pb2 as _trainer_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateImportRequest(_message.Message):
    __slots__ = ("owner", "file", "name", "quantization", "public")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTIZATION_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    owner: str
    file: str
    name: str
    quantization: str
    public: bool
    def __init__(self, owner: _Optional[str] = ..., file: _Optional[str] = ..., name: _Optional[str] = ..., quantization: _Optional[str] = ..., public: _Optional[bool] = ...) -> None: ...

class ModelProvenance(_message.Message):
    __slots__ = ("source", "file_name", "sha256", "quantization", "bits", "dtype", "parameter_count", "architecture")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    QUANTIZATION_FIELD_NUMBER: _ClassVar[int]
    BITS_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_COUNT_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    source: str
    file_name: str
    sha256: str
    quantization: str
    bits: int
    dtype: str
    parameter_count: int
    architecture: str
    def __init__(self, source: _Optional[str] = ..., file_name: _Optional[str] = ..., sha256: _Optional[str] = ..., quantization: _Optional[str] = ..., bits: _Optional[int] = ..., dtype: _Optional[str] = ..., parameter_count: _Optional[int] = ..., architecture: _Optional[str] = ...) -> None: ...

class Import(_message.Message):
    __slots__ = ("id", "owner", "file", "name", "quantization", "public", "status", "created_at", "started_at", "finished_at", "error", "provenance")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTIZATION_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner: str
    file: str
    name: str
    quantization: str
    public: bool
    status: _trainer_pb2.JobStatus
    created_at: int
    started_at: int
    finished_at: int
    error: _trainer_pb2.JobError
    provenance: ModelProvenance
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., file: _Optional[str] = ..., name: _Optional[str] = ..., quantization: _Optional[str] = ..., public: _Optional[bool] = ..., status: _Optional[_Union[_trainer_pb2.JobStatus, str]] = ..., created_at: _Optional[int] = ..., started_at: _Optional[int] = ..., finished_at: _Optional[int] = ..., error: _Optional[_Union[_trainer_pb2.JobError, _Mapping]] = ..., provenance: _Optional[_Union[ModelProvenance, _Mapping]] = ...) -> None: ...

class ListImportsResponse(_message.Message):
    __slots__ = ("imports", "has_more")
    IMPORTS_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    imports: _containers.RepeatedCompositeFieldContainer[Import]
    has_more: bool
    def __init__(self, imports: _Optional[_Iterable[_Union[Import, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

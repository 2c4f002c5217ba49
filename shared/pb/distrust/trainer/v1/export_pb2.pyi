from shared.pb.distrust.trainer.v1 import trainer_pb2 as _trainer_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QuantizeConfig(_message.Message):
    __slots__ = ("bits", "group_size")
    BITS_FIELD_NUMBER: _ClassVar[int]
    GROUP_SIZE_FIELD_NUMBER: _ClassVar[int]
    bits: int
    group_size: int
    def __init__(self, bits: _Optional[int] = ..., group_size: _Optional[int] = ...) -> None: ...

class ExportOptions(_message.Message):
    __slots__ = ("quantize", "gguf", "dtype")
    QUANTIZE_FIELD_NUMBER: _ClassVar[int]
    GGUF_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    quantize: QuantizeConfig
    gguf: bool
    dtype: str
    def __init__(self, quantize: _Optional[_Union[QuantizeConfig, _Mapping]] = ..., gguf: _Optional[bool] = ..., dtype: _Optional[str] = ...) -> None: ...

class CreateExportRequest(_message.Message):
    __slots__ = ("owner", "model", "name", "options")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    owner: str
    model: str
    name: str
    options: ExportOptions
    def __init__(self, owner: _Optional[str] = ..., model: _Optional[str] = ..., name: _Optional[str] = ..., options: _Optional[_Union[ExportOptions, _Mapping]] = ...) -> None: ...

class Quantization(_message.Message):
    __slots__ = ("bits", "group_size", "mode")
    BITS_FIELD_NUMBER: _ClassVar[int]
    GROUP_SIZE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    bits: int
    group_size: int
    mode: str
    def __init__(self, bits: _Optional[int] = ..., group_size: _Optional[int] = ..., mode: _Optional[str] = ...) -> None: ...

class GgufFile(_message.Message):
    __slots__ = ("key", "bytes", "sha256")
    KEY_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    key: str
    bytes: int
    sha256: str
    def __init__(self, key: _Optional[str] = ..., bytes: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class ExportResult(_message.Message):
    __slots__ = ("files", "bytes", "architecture", "dtype", "quantization", "fused_layers", "dequantized_base", "gguf", "seconds")
    FILES_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    QUANTIZATION_FIELD_NUMBER: _ClassVar[int]
    FUSED_LAYERS_FIELD_NUMBER: _ClassVar[int]
    DEQUANTIZED_BASE_FIELD_NUMBER: _ClassVar[int]
    GGUF_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedScalarFieldContainer[str]
    bytes: int
    architecture: str
    dtype: str
    quantization: Quantization
    fused_layers: int
    dequantized_base: bool
    gguf: GgufFile
    seconds: float
    def __init__(self, files: _Optional[_Iterable[str]] = ..., bytes: _Optional[int] = ..., architecture: _Optional[str] = ..., dtype: _Optional[str] = ..., quantization: _Optional[_Union[Quantization, _Mapping]] = ..., fused_layers: _Optional[int] = ..., dequantized_base: _Optional[bool] = ..., gguf: _Optional[_Union[GgufFile, _Mapping]] = ..., seconds: _Optional[float] = ...) -> None: ...

class Export(_message.Message):
    __slots__ = ("id", "owner", "model", "base_model", "output_model", "status", "options", "created_at", "started_at", "finished_at", "error", "result")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_MODEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner: str
    model: str
    base_model: str
    output_model: str
    status: _trainer_pb2.JobStatus
    options: ExportOptions
    created_at: int
    started_at: int
    finished_at: int
    error: _trainer_pb2.JobError
    result: ExportResult
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., model: _Optional[str] = ..., base_model: _Optional[str] = ..., output_model: _Optional[str] = ..., status: _Optional[_Union[_trainer_pb2.JobStatus, str]] = ..., options: _Optional[_Union[ExportOptions, _Mapping]] = ..., created_at: _Optional[int] = ..., started_at: _Optional[int] = ..., finished_at: _Optional[int] = ..., error: _Optional[_Union[_trainer_pb2.JobError, _Mapping]] = ..., result: _Optional[_Union[ExportResult, _Mapping]] = ...) -> None: ...

class ListExportsResponse(_message.Message):
    __slots__ = ("exports", "has_more")
    EXPORTS_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    exports: _containers.RepeatedCompositeFieldContainer[Export]
    has_more: bool
    def __init__(self, exports: _Optional[_Iterable[_Union[Export, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Profile(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROFILE_UNSPECIFIED: _ClassVar[Profile]
    PROFILE_STRICT: _ClassVar[Profile]
    PROFILE_REFERENCE: _ClassVar[Profile]
PROFILE_UNSPECIFIED: Profile
PROFILE_STRICT: Profile
PROFILE_REFERENCE: Profile

class Document(_message.Message):
    __slots__ = ("text", "metadata_json")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    text: str
    metadata_json: str
    def __init__(self, text: _Optional[str] = ..., metadata_json: _Optional[str] = ...) -> None: ...

class ScoreResult(_message.Message):
    __slots__ = ("auth_weight", "prov_entropy", "scoring_method", "profile", "breakdown_json")
    AUTH_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PROV_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    SCORING_METHOD_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_JSON_FIELD_NUMBER: _ClassVar[int]
    auth_weight: float
    prov_entropy: float
    scoring_method: str
    profile: str
    breakdown_json: str
    def __init__(self, auth_weight: _Optional[float] = ..., prov_entropy: _Optional[float] = ..., scoring_method: _Optional[str] = ..., profile: _Optional[str] = ..., breakdown_json: _Optional[str] = ...) -> None: ...

class ScoreBatchRequest(_message.Message):
    __slots__ = ("documents", "profile")
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    profile: Profile
    def __init__(self, documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., profile: _Optional[_Union[Profile, str]] = ...) -> None: ...

class ScoreBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ScoreResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ScoreResult, _Mapping]]] = ...) -> None: ...

class ScoreStreamRequest(_message.Message):
    __slots__ = ("documents", "profile")
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    profile: Profile
    def __init__(self, documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., profile: _Optional[_Union[Profile, str]] = ...) -> None: ...

class ScoreStreamResponse(_message.Message):
    __slots__ = ("results", "offset")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ScoreResult]
    offset: int
    def __init__(self, results: _Optional[_Iterable[_Union[ScoreResult, _Mapping]]] = ..., offset: _Optional[int] = ...) -> None: ...

class ScoreDatasetRequest(_message.Message):
    __slots__ = ("owner", "file_id", "profile", "text_field")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_FIELD_NUMBER: _ClassVar[int]
    owner: str
    file_id: str
    profile: Profile
    text_field: str
    def __init__(self, owner: _Optional[str] = ..., file_id: _Optional[str] = ..., profile: _Optional[_Union[Profile, str]] = ..., text_field: _Optional[str] = ...) -> None: ...

class ScoreDatasetEvent(_message.Message):
    __slots__ = ("lines_done", "bytes_total", "bytes_done", "lines_rejected", "output_file_id", "errors_json", "done")
    LINES_DONE_FIELD_NUMBER: _ClassVar[int]
    BYTES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    LINES_REJECTED_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    ERRORS_JSON_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    lines_done: int
    bytes_total: int
    bytes_done: int
    lines_rejected: int
    output_file_id: str
    errors_json: str
    done: bool
    def __init__(self, lines_done: _Optional[int] = ..., bytes_total: _Optional[int] = ..., bytes_done: _Optional[int] = ..., lines_rejected: _Optional[int] = ..., output_file_id: _Optional[str] = ..., errors_json: _Optional[str] = ..., done: _Optional[bool] = ...) -> None: ...

class RawInput(_message.Message):
    __slots__ = ("file_id", "source_type")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    source_type: str
    def __init__(self, file_id: _Optional[str] = ..., source_type: _Optional[str] = ...) -> None: ...

class PrepareDatasetRequest(_message.Message):
    __slots__ = ("owner", "inputs", "profile", "options_json", "job_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    inputs: _containers.RepeatedCompositeFieldContainer[RawInput]
    profile: Profile
    options_json: str
    job_id: str
    def __init__(self, owner: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[RawInput, _Mapping]]] = ..., profile: _Optional[_Union[Profile, str]] = ..., options_json: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...

class PrepareDatasetEvent(_message.Message):
    __slots__ = ("stage", "done", "total", "message", "train_file_id", "validation_file_id", "report_file_id", "report_json")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRAIN_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_JSON_FIELD_NUMBER: _ClassVar[int]
    stage: str
    done: int
    total: int
    message: str
    train_file_id: str
    validation_file_id: str
    report_file_id: str
    report_json: str
    def __init__(self, stage: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., message: _Optional[str] = ..., train_file_id: _Optional[str] = ..., validation_file_id: _Optional[str] = ..., report_file_id: _Optional[str] = ..., report_json: _Optional[str] = ...) -> None: ...

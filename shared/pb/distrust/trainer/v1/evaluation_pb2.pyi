from shared.pb.distrust.trainer.v1 import trainer_pb2 as _trainer_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChoiceMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHOICE_METHOD_UNSPECIFIED: _ClassVar[ChoiceMethod]
    CHOICE_METHOD_LETTER: _ClassVar[ChoiceMethod]
    CHOICE_METHOD_OPTION: _ClassVar[ChoiceMethod]
CHOICE_METHOD_UNSPECIFIED: ChoiceMethod
CHOICE_METHOD_LETTER: ChoiceMethod
CHOICE_METHOD_OPTION: ChoiceMethod

class PerplexityTask(_message.Message):
    __slots__ = ("file", "max_seq_length", "limit")
    FILE_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    file: str
    max_seq_length: int
    limit: int
    def __init__(self, file: _Optional[str] = ..., max_seq_length: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class SourcePreferenceTask(_message.Message):
    __slots__ = ("file", "method", "limit")
    FILE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    file: str
    method: ChoiceMethod
    limit: int
    def __init__(self, file: _Optional[str] = ..., method: _Optional[_Union[ChoiceMethod, str]] = ..., limit: _Optional[int] = ...) -> None: ...

class SuiteTask(_message.Message):
    __slots__ = ("suite", "file", "max_tokens", "limit")
    SUITE_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    suite: str
    file: str
    max_tokens: int
    limit: int
    def __init__(self, suite: _Optional[str] = ..., file: _Optional[str] = ..., max_tokens: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class TruthfulQATask(_message.Message):
    __slots__ = ("file", "method", "limit")
    FILE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    file: str
    method: ChoiceMethod
    limit: int
    def __init__(self, file: _Optional[str] = ..., method: _Optional[_Union[ChoiceMethod, str]] = ..., limit: _Optional[int] = ...) -> None: ...

class EvalTask(_message.Message):
    __slots__ = ("name", "perplexity", "source_preference", "suite", "truthfulqa")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PERPLEXITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    TRUTHFULQA_FIELD_NUMBER: _ClassVar[int]
    name: str
    perplexity: PerplexityTask
    source_preference: SourcePreferenceTask
    suite: SuiteTask
    truthfulqa: TruthfulQATask
    def __init__(self, name: _Optional[str] = ..., perplexity: _Optional[_Union[PerplexityTask, _Mapping]] = ..., source_preference: _Optional[_Union[SourcePreferenceTask, _Mapping]] = ..., suite: _Optional[_Union[SuiteTask, _Mapping]] = ..., truthfulqa: _Optional[_Union[TruthfulQATask, _Mapping]] = ...) -> None: ...

class CreateEvalRequest(_message.Message):
    __slots__ = ("owner", "models", "include_base", "tasks", "seed", "name")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BASE_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    owner: str
    models: _containers.RepeatedScalarFieldContainer[str]
    include_base: bool
    tasks: _containers.RepeatedCompositeFieldContainer[EvalTask]
    seed: int
    name: str
    def __init__(self, owner: _Optional[str] = ..., models: _Optional[_Iterable[str]] = ..., include_base: _Optional[bool] = ..., tasks: _Optional[_Iterable[_Union[EvalTask, _Mapping]]] = ..., seed: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class Eval(_message.Message):
    __slots__ = ("id", "owner", "name", "status", "models", "tasks", "seed", "created_at", "started_at", "finished_at", "error", "done", "total", "summary_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner: str
    name: str
    status: _trainer_pb2.JobStatus
    models: _containers.RepeatedScalarFieldContainer[str]
    tasks: _containers.RepeatedCompositeFieldContainer[EvalTask]
    seed: int
    created_at: int
    started_at: int
    finished_at: int
    error: _trainer_pb2.JobError
    done: int
    total: int
    summary_json: str
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_trainer_pb2.JobStatus, str]] = ..., models: _Optional[_Iterable[str]] = ..., tasks: _Optional[_Iterable[_Union[EvalTask, _Mapping]]] = ..., seed: _Optional[int] = ..., created_at: _Optional[int] = ..., started_at: _Optional[int] = ..., finished_at: _Optional[int] = ..., error: _Optional[_Union[_trainer_pb2.JobError, _Mapping]] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., summary_json: _Optional[str] = ...) -> None: ...

class ListEvalsResponse(_message.Message):
    __slots__ = ("evals", "has_more")
    EVALS_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    evals: _containers.RepeatedCompositeFieldContainer[Eval]
    has_more: bool
    def __init__(self, evals: _Optional[_Iterable[_Union[Eval, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class EvalResults(_message.Message):
    __slots__ = ("eval_id", "results_json")
    EVAL_ID_FIELD_NUMBER: _ClassVar[int]
    RESULTS_JSON_FIELD_NUMBER: _ClassVar[int]
    eval_id: str
    results_json: str
    def __init__(self, eval_id: _Optional[str] = ..., results_json: _Optional[str] = ...) -> None: ...

class QuantizeConfig(_message.Message):
    __slots__ = ("bits", "group_size")
    BITS_FIELD_NUMBER: _ClassVar[int]
    GROUP_SIZE_FIELD_NUMBER: _ClassVar[int]
    bits: int
    group_size: int
    def __init__(self, bits: _Optional[int] = ..., group_size: _Optional[int] = ...) -> None: ...

class CreateExportRequest(_message.Message):
    __slots__ = ("owner", "model", "name", "quantize", "gguf", "dtype")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTIZE_FIELD_NUMBER: _ClassVar[int]
    GGUF_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    owner: str
    model: str
    name: str
    quantize: QuantizeConfig
    gguf: bool
    dtype: str
    def __init__(self, owner: _Optional[str] = ..., model: _Optional[str] = ..., name: _Optional[str] = ..., quantize: _Optional[_Union[QuantizeConfig, _Mapping]] = ..., gguf: _Optional[bool] = ..., dtype: _Optional[str] = ...) -> None: ...

class Export(_message.Message):
    __slots__ = ("id", "owner", "model", "base_model", "output_model", "status", "options_json", "created_at", "started_at", "finished_at", "error", "result_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_MODEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner: str
    model: str
    base_model: str
    output_model: str
    status: _trainer_pb2.JobStatus
    options_json: str
    created_at: int
    started_at: int
    finished_at: int
    error: _trainer_pb2.JobError
    result_json: str
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., model: _Optional[str] = ..., base_model: _Optional[str] = ..., output_model: _Optional[str] = ..., status: _Optional[_Union[_trainer_pb2.JobStatus, str]] = ..., options_json: _Optional[str] = ..., created_at: _Optional[int] = ..., started_at: _Optional[int] = ..., finished_at: _Optional[int] = ..., error: _Optional[_Union[_trainer_pb2.JobError, _Mapping]] = ..., result_json: _Optional[str] = ...) -> None: ...

class ListExportsResponse(_message.Message):
    __slots__ = ("exports", "has_more")
    EXPORTS_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    exports: _containers.RepeatedCompositeFieldContainer[Export]
    has_more: bool
    def __init__(self, exports: _Optional[_Iterable[_Union[Export, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

from google.protobuf import struct_pb2 as _struct_pb2
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
    CHOICE_METHOD_CYCLIC: _ClassVar[ChoiceMethod]
CHOICE_METHOD_UNSPECIFIED: ChoiceMethod
CHOICE_METHOD_LETTER: ChoiceMethod
CHOICE_METHOD_OPTION: ChoiceMethod
CHOICE_METHOD_CYCLIC: ChoiceMethod

class PerplexityTask(_message.Message):
    __slots__ = ("name", "file", "max_seq_length", "limit")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    file: str
    max_seq_length: int
    limit: int
    def __init__(self, name: _Optional[str] = ..., file: _Optional[str] = ..., max_seq_length: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class SourcePreferenceTask(_message.Message):
    __slots__ = ("name", "file", "method", "limit", "retrieval")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    RETRIEVAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    file: str
    method: ChoiceMethod
    limit: int
    retrieval: RetrievalOptions
    def __init__(self, name: _Optional[str] = ..., file: _Optional[str] = ..., method: _Optional[_Union[ChoiceMethod, str]] = ..., limit: _Optional[int] = ..., retrieval: _Optional[_Union[RetrievalOptions, _Mapping]] = ...) -> None: ...

class SuiteTask(_message.Message):
    __slots__ = ("name", "suite", "file", "max_tokens", "limit", "retrieval")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    RETRIEVAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    suite: str
    file: str
    max_tokens: int
    limit: int
    retrieval: RetrievalOptions
    def __init__(self, name: _Optional[str] = ..., suite: _Optional[str] = ..., file: _Optional[str] = ..., max_tokens: _Optional[int] = ..., limit: _Optional[int] = ..., retrieval: _Optional[_Union[RetrievalOptions, _Mapping]] = ...) -> None: ...

class TruthfulQATask(_message.Message):
    __slots__ = ("name", "file", "method", "limit")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    file: str
    method: ChoiceMethod
    limit: int
    def __init__(self, name: _Optional[str] = ..., file: _Optional[str] = ..., method: _Optional[_Union[ChoiceMethod, str]] = ..., limit: _Optional[int] = ...) -> None: ...

class GenerationTask(_message.Message):
    __slots__ = ("name", "file", "prompts", "n", "max_tokens", "temperature", "limit", "retrieval")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    RETRIEVAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    file: str
    prompts: _containers.RepeatedScalarFieldContainer[str]
    n: int
    max_tokens: int
    temperature: float
    limit: int
    retrieval: RetrievalOptions
    def __init__(self, name: _Optional[str] = ..., file: _Optional[str] = ..., prompts: _Optional[_Iterable[str]] = ..., n: _Optional[int] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., limit: _Optional[int] = ..., retrieval: _Optional[_Union[RetrievalOptions, _Mapping]] = ...) -> None: ...

class RetrievalQualityTask(_message.Message):
    __slots__ = ("name", "file", "retrieval", "limit")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    RETRIEVAL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    file: str
    retrieval: RetrievalOptions
    limit: int
    def __init__(self, name: _Optional[str] = ..., file: _Optional[str] = ..., retrieval: _Optional[_Union[RetrievalOptions, _Mapping]] = ..., limit: _Optional[int] = ...) -> None: ...

class RetrievalOptions(_message.Message):
    __slots__ = ("vector_store_ids", "max_num_results", "distrust", "mode", "query")
    VECTOR_STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_NUM_RESULTS_FIELD_NUMBER: _ClassVar[int]
    DISTRUST_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    vector_store_ids: _containers.RepeatedScalarFieldContainer[str]
    max_num_results: int
    distrust: float
    mode: str
    query: str
    def __init__(self, vector_store_ids: _Optional[_Iterable[str]] = ..., max_num_results: _Optional[int] = ..., distrust: _Optional[float] = ..., mode: _Optional[str] = ..., query: _Optional[str] = ...) -> None: ...

class EvalTask(_message.Message):
    __slots__ = ("perplexity", "source_preference", "suite", "truthfulqa", "generation", "retrieval_quality")
    PERPLEXITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    TRUTHFULQA_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    RETRIEVAL_QUALITY_FIELD_NUMBER: _ClassVar[int]
    perplexity: PerplexityTask
    source_preference: SourcePreferenceTask
    suite: SuiteTask
    truthfulqa: TruthfulQATask
    generation: GenerationTask
    retrieval_quality: RetrievalQualityTask
    def __init__(self, perplexity: _Optional[_Union[PerplexityTask, _Mapping]] = ..., source_preference: _Optional[_Union[SourcePreferenceTask, _Mapping]] = ..., suite: _Optional[_Union[SuiteTask, _Mapping]] = ..., truthfulqa: _Optional[_Union[TruthfulQATask, _Mapping]] = ..., generation: _Optional[_Union[GenerationTask, _Mapping]] = ..., retrieval_quality: _Optional[_Union[RetrievalQualityTask, _Mapping]] = ...) -> None: ...

class EvalProgress(_message.Message):
    __slots__ = ("done", "total")
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    done: int
    total: int
    def __init__(self, done: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

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
    __slots__ = ("id", "owner", "name", "status", "models", "tasks", "seed", "created_at", "started_at", "finished_at", "error", "progress", "summary")
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
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
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
    progress: EvalProgress
    summary: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_trainer_pb2.JobStatus, str]] = ..., models: _Optional[_Iterable[str]] = ..., tasks: _Optional[_Iterable[_Union[EvalTask, _Mapping]]] = ..., seed: _Optional[int] = ..., created_at: _Optional[int] = ..., started_at: _Optional[int] = ..., finished_at: _Optional[int] = ..., error: _Optional[_Union[_trainer_pb2.JobError, _Mapping]] = ..., progress: _Optional[_Union[EvalProgress, _Mapping]] = ..., summary: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListEvalsResponse(_message.Message):
    __slots__ = ("evals", "has_more")
    EVALS_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    evals: _containers.RepeatedCompositeFieldContainer[Eval]
    has_more: bool
    def __init__(self, evals: _Optional[_Iterable[_Union[Eval, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class EvalResults(_message.Message):
    __slots__ = ("eval_id", "results")
    EVAL_ID_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    eval_id: str
    results: _struct_pb2.Struct
    def __init__(self, eval_id: _Optional[str] = ..., results: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

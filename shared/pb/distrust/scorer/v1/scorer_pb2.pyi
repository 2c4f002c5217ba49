from google.protobuf import struct_pb2 as _struct_pb2
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

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_VALIDATING_FILES: _ClassVar[JobStatus]
    JOB_STATUS_QUEUED: _ClassVar[JobStatus]
    JOB_STATUS_RUNNING: _ClassVar[JobStatus]
    JOB_STATUS_SUCCEEDED: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
    JOB_STATUS_CANCELLING: _ClassVar[JobStatus]
    JOB_STATUS_CANCELLED: _ClassVar[JobStatus]
    JOB_STATUS_PAUSED: _ClassVar[JobStatus]

class PairRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAIR_RULE_UNSPECIFIED: _ClassVar[PairRule]
    PAIR_RULE_PROVENANCE: _ClassVar[PairRule]
    PAIR_RULE_RULES: _ClassVar[PairRule]
    PAIR_RULE_MANUAL: _ClassVar[PairRule]
PROFILE_UNSPECIFIED: Profile
PROFILE_STRICT: Profile
PROFILE_REFERENCE: Profile
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_VALIDATING_FILES: JobStatus
JOB_STATUS_QUEUED: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_SUCCEEDED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELLING: JobStatus
JOB_STATUS_CANCELLED: JobStatus
JOB_STATUS_PAUSED: JobStatus
PAIR_RULE_UNSPECIFIED: PairRule
PAIR_RULE_PROVENANCE: PairRule
PAIR_RULE_RULES: PairRule
PAIR_RULE_MANUAL: PairRule

class Document(_message.Message):
    __slots__ = ("text", "metadata")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    text: str
    metadata: _struct_pb2.Struct
    def __init__(self, text: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Breakdown(_message.Message):
    __slots__ = ("text_chars", "citation_count", "citation_count_source", "citation_score", "institutional_score", "institutional_marker", "institutional_field", "consensus_count", "consensus_score", "year", "year_source", "year_evidence", "age_adjustment", "primary_count", "primary_adjustment", "base_entropy", "source_counts", "distribution_entropy", "primary_bonus", "variety_count", "variety_bonus", "institutional_penalty", "consensus_penalty", "dynamic_auth_weight", "dynamic_prov_entropy", "source_type", "prior_auth_weight", "prior_prov_entropy")
    TEXT_CHARS_FIELD_NUMBER: _ClassVar[int]
    CITATION_COUNT_FIELD_NUMBER: _ClassVar[int]
    CITATION_COUNT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    CITATION_SCORE_FIELD_NUMBER: _ClassVar[int]
    INSTITUTIONAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    INSTITUTIONAL_MARKER_FIELD_NUMBER: _ClassVar[int]
    INSTITUTIONAL_FIELD_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_COUNT_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_SCORE_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    YEAR_SOURCE_FIELD_NUMBER: _ClassVar[int]
    YEAR_EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    AGE_ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_COUNT_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    BASE_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_BONUS_FIELD_NUMBER: _ClassVar[int]
    VARIETY_COUNT_FIELD_NUMBER: _ClassVar[int]
    VARIETY_BONUS_FIELD_NUMBER: _ClassVar[int]
    INSTITUTIONAL_PENALTY_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_PENALTY_FIELD_NUMBER: _ClassVar[int]
    DYNAMIC_AUTH_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    DYNAMIC_PROV_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRIOR_AUTH_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PRIOR_PROV_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    text_chars: int
    citation_count: int
    citation_count_source: str
    citation_score: float
    institutional_score: float
    institutional_marker: str
    institutional_field: str
    consensus_count: int
    consensus_score: float
    year: int
    year_source: str
    year_evidence: str
    age_adjustment: float
    primary_count: int
    primary_adjustment: float
    base_entropy: float
    source_counts: _containers.RepeatedCompositeFieldContainer[SourceCount]
    distribution_entropy: float
    primary_bonus: float
    variety_count: int
    variety_bonus: float
    institutional_penalty: float
    consensus_penalty: float
    dynamic_auth_weight: float
    dynamic_prov_entropy: float
    source_type: str
    prior_auth_weight: float
    prior_prov_entropy: float
    def __init__(self, text_chars: _Optional[int] = ..., citation_count: _Optional[int] = ..., citation_count_source: _Optional[str] = ..., citation_score: _Optional[float] = ..., institutional_score: _Optional[float] = ..., institutional_marker: _Optional[str] = ..., institutional_field: _Optional[str] = ..., consensus_count: _Optional[int] = ..., consensus_score: _Optional[float] = ..., year: _Optional[int] = ..., year_source: _Optional[str] = ..., year_evidence: _Optional[str] = ..., age_adjustment: _Optional[float] = ..., primary_count: _Optional[int] = ..., primary_adjustment: _Optional[float] = ..., base_entropy: _Optional[float] = ..., source_counts: _Optional[_Iterable[_Union[SourceCount, _Mapping]]] = ..., distribution_entropy: _Optional[float] = ..., primary_bonus: _Optional[float] = ..., variety_count: _Optional[int] = ..., variety_bonus: _Optional[float] = ..., institutional_penalty: _Optional[float] = ..., consensus_penalty: _Optional[float] = ..., dynamic_auth_weight: _Optional[float] = ..., dynamic_prov_entropy: _Optional[float] = ..., source_type: _Optional[str] = ..., prior_auth_weight: _Optional[float] = ..., prior_prov_entropy: _Optional[float] = ...) -> None: ...

class SourceCount(_message.Message):
    __slots__ = ("source_type", "count")
    SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    source_type: str
    count: int
    def __init__(self, source_type: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class ScoreResult(_message.Message):
    __slots__ = ("auth_weight", "prov_entropy", "scoring_method", "profile", "breakdown")
    AUTH_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PROV_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    SCORING_METHOD_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    auth_weight: float
    prov_entropy: float
    scoring_method: str
    profile: str
    breakdown: Breakdown
    def __init__(self, auth_weight: _Optional[float] = ..., prov_entropy: _Optional[float] = ..., scoring_method: _Optional[str] = ..., profile: _Optional[str] = ..., breakdown: _Optional[_Union[Breakdown, _Mapping]] = ...) -> None: ...

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

class LineError(_message.Message):
    __slots__ = ("line", "reason")
    LINE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    line: int
    reason: str
    def __init__(self, line: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class ScoreDatasetEvent(_message.Message):
    __slots__ = ("lines_done", "bytes_total", "bytes_done", "lines_rejected", "output_file_id", "errors", "done")
    LINES_DONE_FIELD_NUMBER: _ClassVar[int]
    BYTES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    LINES_REJECTED_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    lines_done: int
    bytes_total: int
    bytes_done: int
    lines_rejected: int
    output_file_id: str
    errors: _containers.RepeatedCompositeFieldContainer[LineError]
    done: bool
    def __init__(self, lines_done: _Optional[int] = ..., bytes_total: _Optional[int] = ..., bytes_done: _Optional[int] = ..., lines_rejected: _Optional[int] = ..., output_file_id: _Optional[str] = ..., errors: _Optional[_Iterable[_Union[LineError, _Mapping]]] = ..., done: _Optional[bool] = ...) -> None: ...

class PreparationInput(_message.Message):
    __slots__ = ("file_id", "source_type")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    source_type: str
    def __init__(self, file_id: _Optional[str] = ..., source_type: _Optional[str] = ...) -> None: ...

class PreparationOptions(_message.Message):
    __slots__ = ("profile", "min_length", "max_chars", "targets", "val_fraction", "seed", "strict", "dedup", "rebalance", "keep_existing_scores")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    MIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MAX_CHARS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    VAL_FRACTION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STRICT_FIELD_NUMBER: _ClassVar[int]
    DEDUP_FIELD_NUMBER: _ClassVar[int]
    REBALANCE_FIELD_NUMBER: _ClassVar[int]
    KEEP_EXISTING_SCORES_FIELD_NUMBER: _ClassVar[int]
    profile: Profile
    min_length: int
    max_chars: int
    targets: _containers.RepeatedScalarFieldContainer[float]
    val_fraction: float
    seed: int
    strict: bool
    dedup: bool
    rebalance: bool
    keep_existing_scores: bool
    def __init__(self, profile: _Optional[_Union[Profile, str]] = ..., min_length: _Optional[int] = ..., max_chars: _Optional[int] = ..., targets: _Optional[_Iterable[float]] = ..., val_fraction: _Optional[float] = ..., seed: _Optional[int] = ..., strict: _Optional[bool] = ..., dedup: _Optional[bool] = ..., rebalance: _Optional[bool] = ..., keep_existing_scores: _Optional[bool] = ...) -> None: ...

class PreparationProgress(_message.Message):
    __slots__ = ("stage", "done", "total", "message")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    stage: str
    done: int
    total: int
    message: str
    def __init__(self, stage: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class JobError(_message.Message):
    __slots__ = ("code", "message", "param")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PARAM_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    param: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., param: _Optional[str] = ...) -> None: ...

class PairRules(_message.Message):
    __slots__ = ("required_keywords", "refusal_phrases", "forbidden_words", "min_length")
    REQUIRED_KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_PHRASES_FIELD_NUMBER: _ClassVar[int]
    FORBIDDEN_WORDS_FIELD_NUMBER: _ClassVar[int]
    MIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    required_keywords: _containers.RepeatedScalarFieldContainer[str]
    refusal_phrases: _containers.RepeatedScalarFieldContainer[str]
    forbidden_words: _containers.RepeatedScalarFieldContainer[str]
    min_length: int
    def __init__(self, required_keywords: _Optional[_Iterable[str]] = ..., refusal_phrases: _Optional[_Iterable[str]] = ..., forbidden_words: _Optional[_Iterable[str]] = ..., min_length: _Optional[int] = ...) -> None: ...

class PairOptions(_message.Message):
    __slots__ = ("rule", "min_margin", "rules", "requests_file_id")
    RULE_FIELD_NUMBER: _ClassVar[int]
    MIN_MARGIN_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FILE_ID_FIELD_NUMBER: _ClassVar[int]
    rule: PairRule
    min_margin: float
    rules: PairRules
    requests_file_id: str
    def __init__(self, rule: _Optional[_Union[PairRule, str]] = ..., min_margin: _Optional[float] = ..., rules: _Optional[_Union[PairRules, _Mapping]] = ..., requests_file_id: _Optional[str] = ...) -> None: ...

class CreatePreparationRequest(_message.Message):
    __slots__ = ("owner", "inputs", "options", "pairs")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    owner: str
    inputs: _containers.RepeatedCompositeFieldContainer[PreparationInput]
    options: PreparationOptions
    pairs: PairOptions
    def __init__(self, owner: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[PreparationInput, _Mapping]]] = ..., options: _Optional[_Union[PreparationOptions, _Mapping]] = ..., pairs: _Optional[_Union[PairOptions, _Mapping]] = ...) -> None: ...

class GetPreparationRequest(_message.Message):
    __slots__ = ("owner", "job_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...

class PreparationJob(_message.Message):
    __slots__ = ("id", "status", "created_at", "started_at", "finished_at", "inputs", "options", "progress", "train_file", "validation_file", "report_file", "report", "error", "pairs")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    TRAIN_FILE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FILE_FIELD_NUMBER: _ClassVar[int]
    REPORT_FILE_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: JobStatus
    created_at: int
    started_at: int
    finished_at: int
    inputs: _containers.RepeatedCompositeFieldContainer[PreparationInput]
    options: PreparationOptions
    progress: PreparationProgress
    train_file: str
    validation_file: str
    report_file: str
    report: _struct_pb2.Struct
    error: JobError
    pairs: PairOptions
    def __init__(self, id: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., created_at: _Optional[int] = ..., started_at: _Optional[int] = ..., finished_at: _Optional[int] = ..., inputs: _Optional[_Iterable[_Union[PreparationInput, _Mapping]]] = ..., options: _Optional[_Union[PreparationOptions, _Mapping]] = ..., progress: _Optional[_Union[PreparationProgress, _Mapping]] = ..., train_file: _Optional[str] = ..., validation_file: _Optional[str] = ..., report_file: _Optional[str] = ..., report: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., error: _Optional[_Union[JobError, _Mapping]] = ..., pairs: _Optional[_Union[PairOptions, _Mapping]] = ...) -> None: ...

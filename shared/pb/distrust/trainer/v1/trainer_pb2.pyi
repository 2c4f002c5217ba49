from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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

class DistrustMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISTRUST_MODE_UNSPECIFIED: _ClassVar[DistrustMode]
    DISTRUST_MODE_WEIGHTED: _ClassVar[DistrustMode]
    DISTRUST_MODE_ADDITIVE: _ClassVar[DistrustMode]
    DISTRUST_MODE_NONE: _ClassVar[DistrustMode]

class Weighting(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEIGHTING_UNSPECIFIED: _ClassVar[Weighting]
    WEIGHTING_PLAIN: _ClassVar[Weighting]
    WEIGHTING_MONOTONE: _ClassVar[Weighting]

class TrainingMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRAINING_METHOD_UNSPECIFIED: _ClassVar[TrainingMethod]
    TRAINING_METHOD_SUPERVISED: _ClassVar[TrainingMethod]
    TRAINING_METHOD_DPO: _ClassVar[TrainingMethod]

class PreferenceLoss(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PREFERENCE_LOSS_UNSPECIFIED: _ClassVar[PreferenceLoss]
    PREFERENCE_LOSS_SIGMOID: _ClassVar[PreferenceLoss]
    PREFERENCE_LOSS_IPO: _ClassVar[PreferenceLoss]
    PREFERENCE_LOSS_SIMPO: _ClassVar[PreferenceLoss]

class Precision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRECISION_UNSPECIFIED: _ClassVar[Precision]
    PRECISION_AUTO: _ClassVar[Precision]
    PRECISION_FLOAT32: _ClassVar[Precision]
    PRECISION_BFLOAT16: _ClassVar[Precision]
    PRECISION_FLOAT16: _ClassVar[Precision]
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_VALIDATING_FILES: JobStatus
JOB_STATUS_QUEUED: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_SUCCEEDED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELLING: JobStatus
JOB_STATUS_CANCELLED: JobStatus
JOB_STATUS_PAUSED: JobStatus
DISTRUST_MODE_UNSPECIFIED: DistrustMode
DISTRUST_MODE_WEIGHTED: DistrustMode
DISTRUST_MODE_ADDITIVE: DistrustMode
DISTRUST_MODE_NONE: DistrustMode
WEIGHTING_UNSPECIFIED: Weighting
WEIGHTING_PLAIN: Weighting
WEIGHTING_MONOTONE: Weighting
TRAINING_METHOD_UNSPECIFIED: TrainingMethod
TRAINING_METHOD_SUPERVISED: TrainingMethod
TRAINING_METHOD_DPO: TrainingMethod
PREFERENCE_LOSS_UNSPECIFIED: PreferenceLoss
PREFERENCE_LOSS_SIGMOID: PreferenceLoss
PREFERENCE_LOSS_IPO: PreferenceLoss
PREFERENCE_LOSS_SIMPO: PreferenceLoss
PRECISION_UNSPECIFIED: Precision
PRECISION_AUTO: Precision
PRECISION_FLOAT32: Precision
PRECISION_BFLOAT16: Precision
PRECISION_FLOAT16: Precision

class Hyperparameters(_message.Message):
    __slots__ = ("n_epochs", "batch_size", "learning_rate_multiplier", "learning_rate", "gradient_accumulation_steps", "max_seq_length", "warmup_steps", "max_grad_norm", "weight_decay", "eval_every_steps", "checkpoint_every_steps", "max_steps", "precision", "quantize_base", "gradient_checkpointing")
    N_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_ACCUMULATION_STEPS_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    WARMUP_STEPS_FIELD_NUMBER: _ClassVar[int]
    MAX_GRAD_NORM_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_DECAY_FIELD_NUMBER: _ClassVar[int]
    EVAL_EVERY_STEPS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_EVERY_STEPS_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    QUANTIZE_BASE_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_CHECKPOINTING_FIELD_NUMBER: _ClassVar[int]
    n_epochs: int
    batch_size: int
    learning_rate_multiplier: float
    learning_rate: float
    gradient_accumulation_steps: int
    max_seq_length: int
    warmup_steps: int
    max_grad_norm: float
    weight_decay: float
    eval_every_steps: int
    checkpoint_every_steps: int
    max_steps: int
    precision: Precision
    quantize_base: int
    gradient_checkpointing: bool
    def __init__(self, n_epochs: _Optional[int] = ..., batch_size: _Optional[int] = ..., learning_rate_multiplier: _Optional[float] = ..., learning_rate: _Optional[float] = ..., gradient_accumulation_steps: _Optional[int] = ..., max_seq_length: _Optional[int] = ..., warmup_steps: _Optional[int] = ..., max_grad_norm: _Optional[float] = ..., weight_decay: _Optional[float] = ..., eval_every_steps: _Optional[int] = ..., checkpoint_every_steps: _Optional[int] = ..., max_steps: _Optional[int] = ..., precision: _Optional[_Union[Precision, str]] = ..., quantize_base: _Optional[int] = ..., gradient_checkpointing: _Optional[bool] = ...) -> None: ...

class PreferenceConfig(_message.Message):
    __slots__ = ("loss", "beta", "gamma", "weight_by_margin", "rpo_alpha")
    LOSS_FIELD_NUMBER: _ClassVar[int]
    BETA_FIELD_NUMBER: _ClassVar[int]
    GAMMA_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_BY_MARGIN_FIELD_NUMBER: _ClassVar[int]
    RPO_ALPHA_FIELD_NUMBER: _ClassVar[int]
    loss: PreferenceLoss
    beta: float
    gamma: float
    weight_by_margin: bool
    rpo_alpha: float
    def __init__(self, loss: _Optional[_Union[PreferenceLoss, str]] = ..., beta: _Optional[float] = ..., gamma: _Optional[float] = ..., weight_by_margin: _Optional[bool] = ..., rpo_alpha: _Optional[float] = ...) -> None: ...

class DistrustConfig(_message.Message):
    __slots__ = ("mode", "alpha", "weighting", "weight_min", "weight_max")
    MODE_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    LAMBDA_FIELD_NUMBER: _ClassVar[int]
    WEIGHTING_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_MIN_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_MAX_FIELD_NUMBER: _ClassVar[int]
    mode: DistrustMode
    alpha: float
    weighting: Weighting
    weight_min: float
    weight_max: float
    def __init__(self, mode: _Optional[_Union[DistrustMode, str]] = ..., alpha: _Optional[float] = ..., weighting: _Optional[_Union[Weighting, str]] = ..., weight_min: _Optional[float] = ..., weight_max: _Optional[float] = ..., **kwargs) -> None: ...

class LoraConfig(_message.Message):
    __slots__ = ("rank", "alpha", "layers", "keys", "dropout")
    RANK_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    DROPOUT_FIELD_NUMBER: _ClassVar[int]
    rank: int
    alpha: float
    layers: int
    keys: _containers.RepeatedScalarFieldContainer[str]
    dropout: float
    def __init__(self, rank: _Optional[int] = ..., alpha: _Optional[float] = ..., layers: _Optional[int] = ..., keys: _Optional[_Iterable[str]] = ..., dropout: _Optional[float] = ...) -> None: ...

class JobError(_message.Message):
    __slots__ = ("code", "message", "param")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PARAM_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    param: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., param: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "owner", "model", "training_file", "validation_file", "suffix", "seed", "status", "hyperparameters", "distrust", "lora", "fine_tuned_model", "created_at", "started_at", "finished_at", "trained_tokens", "error", "result_files", "step", "total_steps", "method", "preference", "alias", "alias_gate", "queue", "memory_estimate_bytes", "distributed", "attempt")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FILE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FILE_FIELD_NUMBER: _ClassVar[int]
    SUFFIX_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    DISTRUST_FIELD_NUMBER: _ClassVar[int]
    LORA_FIELD_NUMBER: _ClassVar[int]
    FINE_TUNED_MODEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    TRAINED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FILES_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    ALIAS_GATE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_ESTIMATE_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTED_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner: str
    model: str
    training_file: str
    validation_file: str
    suffix: str
    seed: int
    status: JobStatus
    hyperparameters: Hyperparameters
    distrust: DistrustConfig
    lora: LoraConfig
    fine_tuned_model: str
    created_at: int
    started_at: int
    finished_at: int
    trained_tokens: int
    error: JobError
    result_files: _containers.RepeatedScalarFieldContainer[str]
    step: int
    total_steps: int
    method: TrainingMethod
    preference: PreferenceConfig
    alias: str
    alias_gate: AliasGate
    queue: str
    memory_estimate_bytes: int
    distributed: DistributedConfig
    attempt: int
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., model: _Optional[str] = ..., training_file: _Optional[str] = ..., validation_file: _Optional[str] = ..., suffix: _Optional[str] = ..., seed: _Optional[int] = ..., status: _Optional[_Union[JobStatus, str]] = ..., hyperparameters: _Optional[_Union[Hyperparameters, _Mapping]] = ..., distrust: _Optional[_Union[DistrustConfig, _Mapping]] = ..., lora: _Optional[_Union[LoraConfig, _Mapping]] = ..., fine_tuned_model: _Optional[str] = ..., created_at: _Optional[int] = ..., started_at: _Optional[int] = ..., finished_at: _Optional[int] = ..., trained_tokens: _Optional[int] = ..., error: _Optional[_Union[JobError, _Mapping]] = ..., result_files: _Optional[_Iterable[str]] = ..., step: _Optional[int] = ..., total_steps: _Optional[int] = ..., method: _Optional[_Union[TrainingMethod, str]] = ..., preference: _Optional[_Union[PreferenceConfig, _Mapping]] = ..., alias: _Optional[str] = ..., alias_gate: _Optional[_Union[AliasGate, _Mapping]] = ..., queue: _Optional[str] = ..., memory_estimate_bytes: _Optional[int] = ..., distributed: _Optional[_Union[DistributedConfig, _Mapping]] = ..., attempt: _Optional[int] = ...) -> None: ...

class DistributedConfig(_message.Message):
    __slots__ = ("hosts",)
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    hosts: int
    def __init__(self, hosts: _Optional[int] = ...) -> None: ...

class CreateJobRequest(_message.Message):
    __slots__ = ("owner", "model", "training_file", "validation_file", "suffix", "seed", "hyperparameters", "distrust", "lora", "method", "preference", "alias", "alias_gate", "distributed")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FILE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FILE_FIELD_NUMBER: _ClassVar[int]
    SUFFIX_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    DISTRUST_FIELD_NUMBER: _ClassVar[int]
    LORA_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    ALIAS_GATE_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTED_FIELD_NUMBER: _ClassVar[int]
    owner: str
    model: str
    training_file: str
    validation_file: str
    suffix: str
    seed: int
    hyperparameters: Hyperparameters
    distrust: DistrustConfig
    lora: LoraConfig
    method: TrainingMethod
    preference: PreferenceConfig
    alias: str
    alias_gate: AliasGate
    distributed: DistributedConfig
    def __init__(self, owner: _Optional[str] = ..., model: _Optional[str] = ..., training_file: _Optional[str] = ..., validation_file: _Optional[str] = ..., suffix: _Optional[str] = ..., seed: _Optional[int] = ..., hyperparameters: _Optional[_Union[Hyperparameters, _Mapping]] = ..., distrust: _Optional[_Union[DistrustConfig, _Mapping]] = ..., lora: _Optional[_Union[LoraConfig, _Mapping]] = ..., method: _Optional[_Union[TrainingMethod, str]] = ..., preference: _Optional[_Union[PreferenceConfig, _Mapping]] = ..., alias: _Optional[str] = ..., alias_gate: _Optional[_Union[AliasGate, _Mapping]] = ..., distributed: _Optional[_Union[DistributedConfig, _Mapping]] = ...) -> None: ...

class AliasGate(_message.Message):
    __slots__ = ("metric", "tolerance", "limit")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    metric: str
    tolerance: float
    limit: int
    def __init__(self, metric: _Optional[str] = ..., tolerance: _Optional[float] = ..., limit: _Optional[int] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("owner", "job_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("owner", "after", "limit")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    owner: str
    after: str
    limit: int
    def __init__(self, owner: _Optional[str] = ..., after: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "has_more")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    has_more: bool
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("owner", "job_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...

class PauseJobRequest(_message.Message):
    __slots__ = ("owner", "job_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...

class ResumeJobRequest(_message.Message):
    __slots__ = ("owner", "job_id")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("owner", "job_id", "after_sequence", "follow")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    after_sequence: int
    follow: bool
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ..., after_sequence: _Optional[int] = ..., follow: _Optional[bool] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("id", "sequence", "created_at", "level", "message", "type", "status", "data", "request_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    sequence: int
    created_at: int
    level: str
    message: str
    type: str
    status: JobStatus
    data: _struct_pb2.Struct
    request_id: str
    def __init__(self, id: _Optional[str] = ..., sequence: _Optional[int] = ..., created_at: _Optional[int] = ..., level: _Optional[str] = ..., message: _Optional[str] = ..., type: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CheckpointMetrics(_message.Message):
    __slots__ = ("step", "train_loss", "val_loss")
    STEP_FIELD_NUMBER: _ClassVar[int]
    TRAIN_LOSS_FIELD_NUMBER: _ClassVar[int]
    VAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    step: int
    train_loss: float
    val_loss: float
    def __init__(self, step: _Optional[int] = ..., train_loss: _Optional[float] = ..., val_loss: _Optional[float] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("id", "job_id", "step", "created_at", "fine_tuned_model_checkpoint", "storage_prefix", "metrics")
    ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINE_TUNED_MODEL_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    STORAGE_PREFIX_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    id: str
    job_id: str
    step: int
    created_at: int
    fine_tuned_model_checkpoint: str
    storage_prefix: str
    metrics: CheckpointMetrics
    def __init__(self, id: _Optional[str] = ..., job_id: _Optional[str] = ..., step: _Optional[int] = ..., created_at: _Optional[int] = ..., fine_tuned_model_checkpoint: _Optional[str] = ..., storage_prefix: _Optional[str] = ..., metrics: _Optional[_Union[CheckpointMetrics, _Mapping]] = ...) -> None: ...

class ListCheckpointsRequest(_message.Message):
    __slots__ = ("owner", "job_id", "after", "limit")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    owner: str
    job_id: str
    after: str
    limit: int
    def __init__(self, owner: _Optional[str] = ..., job_id: _Optional[str] = ..., after: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListCheckpointsResponse(_message.Message):
    __slots__ = ("checkpoints", "has_more")
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    checkpoints: _containers.RepeatedCompositeFieldContainer[Checkpoint]
    has_more: bool
    def __init__(self, checkpoints: _Optional[_Iterable[_Union[Checkpoint, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Hardware(_message.Message):
    __slots__ = ("os", "machine", "cpu_count", "total_memory_bytes", "available_memory_bytes", "chip", "unified_memory", "memory_source", "mlx_device", "metal_available", "gpu_working_set_bytes", "device_info")
    OS_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    CPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHIP_FIELD_NUMBER: _ClassVar[int]
    UNIFIED_MEMORY_FIELD_NUMBER: _ClassVar[int]
    MEMORY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    MLX_DEVICE_FIELD_NUMBER: _ClassVar[int]
    METAL_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    GPU_WORKING_SET_BYTES_FIELD_NUMBER: _ClassVar[int]
    DEVICE_INFO_FIELD_NUMBER: _ClassVar[int]
    os: str
    machine: str
    cpu_count: int
    total_memory_bytes: int
    available_memory_bytes: int
    chip: str
    unified_memory: bool
    memory_source: str
    mlx_device: str
    metal_available: bool
    gpu_working_set_bytes: int
    device_info: _struct_pb2.Struct
    def __init__(self, os: _Optional[str] = ..., machine: _Optional[str] = ..., cpu_count: _Optional[int] = ..., total_memory_bytes: _Optional[int] = ..., available_memory_bytes: _Optional[int] = ..., chip: _Optional[str] = ..., unified_memory: _Optional[bool] = ..., memory_source: _Optional[str] = ..., mlx_device: _Optional[str] = ..., metal_available: _Optional[bool] = ..., gpu_working_set_bytes: _Optional[int] = ..., device_info: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class WorkerHardware(_message.Message):
    __slots__ = ("id", "hostname", "role", "hardware", "budget_bytes", "budget_configured", "blas", "blas_kind", "updated_at", "queues", "current_job")
    ID_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_BYTES_FIELD_NUMBER: _ClassVar[int]
    BUDGET_CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    BLAS_FIELD_NUMBER: _ClassVar[int]
    BLAS_KIND_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    CURRENT_JOB_FIELD_NUMBER: _ClassVar[int]
    id: str
    hostname: str
    role: str
    hardware: Hardware
    budget_bytes: int
    budget_configured: bool
    blas: str
    blas_kind: str
    updated_at: int
    queues: _containers.RepeatedScalarFieldContainer[str]
    current_job: str
    def __init__(self, id: _Optional[str] = ..., hostname: _Optional[str] = ..., role: _Optional[str] = ..., hardware: _Optional[_Union[Hardware, _Mapping]] = ..., budget_bytes: _Optional[int] = ..., budget_configured: _Optional[bool] = ..., blas: _Optional[str] = ..., blas_kind: _Optional[str] = ..., updated_at: _Optional[int] = ..., queues: _Optional[_Iterable[str]] = ..., current_job: _Optional[str] = ...) -> None: ...

class MemoryEstimate(_message.Message):
    __slots__ = ("weights_bytes", "lora_bytes", "activations_bytes", "attention_bytes", "logits_bytes", "overhead_bytes", "lora_parameters", "batch_size", "seq_len", "lora_rank", "lora_layers", "dtype_bytes", "quantize_bits", "checkpointing", "total_bytes")
    WEIGHTS_BYTES_FIELD_NUMBER: _ClassVar[int]
    LORA_BYTES_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_BYTES_FIELD_NUMBER: _ClassVar[int]
    ATTENTION_BYTES_FIELD_NUMBER: _ClassVar[int]
    LOGITS_BYTES_FIELD_NUMBER: _ClassVar[int]
    OVERHEAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    LORA_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    SEQ_LEN_FIELD_NUMBER: _ClassVar[int]
    LORA_RANK_FIELD_NUMBER: _ClassVar[int]
    LORA_LAYERS_FIELD_NUMBER: _ClassVar[int]
    DTYPE_BYTES_FIELD_NUMBER: _ClassVar[int]
    QUANTIZE_BITS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTING_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    weights_bytes: int
    lora_bytes: int
    activations_bytes: int
    attention_bytes: int
    logits_bytes: int
    overhead_bytes: int
    lora_parameters: int
    batch_size: int
    seq_len: int
    lora_rank: int
    lora_layers: int
    dtype_bytes: int
    quantize_bits: int
    checkpointing: bool
    total_bytes: int
    def __init__(self, weights_bytes: _Optional[int] = ..., lora_bytes: _Optional[int] = ..., activations_bytes: _Optional[int] = ..., attention_bytes: _Optional[int] = ..., logits_bytes: _Optional[int] = ..., overhead_bytes: _Optional[int] = ..., lora_parameters: _Optional[int] = ..., batch_size: _Optional[int] = ..., seq_len: _Optional[int] = ..., lora_rank: _Optional[int] = ..., lora_layers: _Optional[int] = ..., dtype_bytes: _Optional[int] = ..., quantize_bits: _Optional[int] = ..., checkpointing: _Optional[bool] = ..., total_bytes: _Optional[int] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ("batch_size", "lora_rank", "lora_layers", "grad_accumulation", "dtype", "seq_len", "budget_bytes", "estimate", "reason")
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    LORA_RANK_FIELD_NUMBER: _ClassVar[int]
    LORA_LAYERS_FIELD_NUMBER: _ClassVar[int]
    GRAD_ACCUMULATION_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SEQ_LEN_FIELD_NUMBER: _ClassVar[int]
    BUDGET_BYTES_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    batch_size: int
    lora_rank: int
    lora_layers: int
    grad_accumulation: int
    dtype: str
    seq_len: int
    budget_bytes: int
    estimate: MemoryEstimate
    reason: str
    def __init__(self, batch_size: _Optional[int] = ..., lora_rank: _Optional[int] = ..., lora_layers: _Optional[int] = ..., grad_accumulation: _Optional[int] = ..., dtype: _Optional[str] = ..., seq_len: _Optional[int] = ..., budget_bytes: _Optional[int] = ..., estimate: _Optional[_Union[MemoryEstimate, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class ListHardwareRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListHardwareResponse(_message.Message):
    __slots__ = ("workers",)
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[WorkerHardware]
    def __init__(self, workers: _Optional[_Iterable[_Union[WorkerHardware, _Mapping]]] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ("owner", "model", "seq_len", "precision", "quantize_base", "worker")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SEQ_LEN_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    QUANTIZE_BASE_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    owner: str
    model: str
    seq_len: int
    precision: str
    quantize_base: int
    worker: str
    def __init__(self, owner: _Optional[str] = ..., model: _Optional[str] = ..., seq_len: _Optional[int] = ..., precision: _Optional[str] = ..., quantize_base: _Optional[int] = ..., worker: _Optional[str] = ...) -> None: ...

class HardwareRecommendation(_message.Message):
    __slots__ = ("worker", "recommendation")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    worker: WorkerHardware
    recommendation: Recommendation
    def __init__(self, worker: _Optional[_Union[WorkerHardware, _Mapping]] = ..., recommendation: _Optional[_Union[Recommendation, _Mapping]] = ...) -> None: ...

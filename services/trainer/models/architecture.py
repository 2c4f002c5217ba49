"""The Llama architecture of the built-in model: its sizes, its `config.json` and seeded random weights.

Tensor names and shapes follow Hugging Face's `LlamaForCausalLM`, which is also what `mlx_lm.models.llama`
loads, so the same folder opens in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from services.trainer.models.safetensors_format import to_bfloat16_bits
from shared.errors import invalid_field

WeightDtype = Literal["float32", "float16", "bfloat16"]
WEIGHT_DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16")
INITIALIZER_RANGE = 0.02


@dataclass(frozen=True)
class LlamaShape:
    """Sizes of a Llama model. The defaults train quickly on two CPU cores yet are a real transformer."""

    vocab_size: int = 3072
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    num_kv_heads: int = 2
    # 704 = 64 * 11 (≈ 8/3 · hidden): a multiple of 64 so every linear layer quantises with group size 64.
    intermediate_size: int = 704
    context_length: int = 2048
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    def validate(self) -> None:
        """Raise InvalidArgument naming the first size that is out of range or inconsistent."""
        ranges = {
            "vocab_size": (256, 65536),
            "hidden_size": (16, 8192),
            "num_layers": (1, 128),
            "num_heads": (1, 128),
            "num_kv_heads": (1, 128),
            "intermediate_size": (16, 65536),
            "context_length": (16, 1 << 20),
        }
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise invalid_field(name, value, f"an integer in [{low}, {high}]")
        if self.hidden_size % self.num_heads:
            raise invalid_field("num_heads", self.num_heads, f"a divisor of hidden_size ({self.hidden_size})")
        if self.head_dim % 2:
            raise invalid_field("num_heads", self.num_heads, "a value giving an even head size")
        if self.num_heads % self.num_kv_heads:
            raise invalid_field("num_kv_heads", self.num_kv_heads, f"a divisor of num_heads ({self.num_heads})")

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every weight of the model by its Hugging Face name (embeddings tied: no `lm_head.weight`)."""
        h, i, d = self.hidden_size, self.intermediate_size, self.head_dim
        shapes: dict[str, tuple[int, ...]] = {
            "model.embed_tokens.weight": (self.vocab_size, h),
            "model.norm.weight": (h,),
        }
        for layer in range(self.num_layers):
            p = f"model.layers.{layer}"
            shapes |= {
                f"{p}.input_layernorm.weight": (h,),
                f"{p}.post_attention_layernorm.weight": (h,),
                f"{p}.self_attn.q_proj.weight": (self.num_heads * d, h),
                f"{p}.self_attn.k_proj.weight": (self.num_kv_heads * d, h),
                f"{p}.self_attn.v_proj.weight": (self.num_kv_heads * d, h),
                f"{p}.self_attn.o_proj.weight": (h, self.num_heads * d),
                f"{p}.mlp.gate_proj.weight": (i, h),
                f"{p}.mlp.up_proj.weight": (i, h),
                f"{p}.mlp.down_proj.weight": (h, i),
            }
        return shapes

    def num_parameters(self) -> int:
        return sum(int(np.prod(shape)) for shape in self.tensor_shapes().values())

    def config(
        self,
        *,
        dtype: str,
        bos_token_id: int,
        eos_token_ids: list[int],
        pad_token_id: int,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The `config.json` of a Hugging Face Llama checkpoint."""
        return {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_heads,
            "num_key_value_heads": self.num_kv_heads,
            "head_dim": self.head_dim,
            "max_position_embeddings": self.context_length,
            "hidden_act": "silu",
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "rope_scaling": None,
            "attention_bias": False,
            "attention_dropout": 0.0,
            "mlp_bias": False,
            "tie_word_embeddings": True,
            "initializer_range": INITIALIZER_RANGE,
            "bos_token_id": bos_token_id,
            "eos_token_id": eos_token_ids,
            "pad_token_id": pad_token_id,
            "torch_dtype": dtype,
            "use_cache": True,
            **(extra or {}),
        }


def random_weights(shape: LlamaShape, *, seed: int, dtype: str = "float32") -> dict[str, np.ndarray]:
    """Seeded weights as Hugging Face initialises Llama: N(0, 0.02) matrices, RMSNorm scales of one.

    bfloat16 tensors come back as uint16 bit patterns (numpy has no bfloat16). Drawing in name order from one
    PCG64 stream makes the bytes a function of (seed, shape, dtype) alone.
    """
    if dtype not in WEIGHT_DTYPES:
        raise invalid_field("dtype", dtype, " or ".join(WEIGHT_DTYPES))
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise invalid_field("seed", seed, "a non-negative integer")
    rng = np.random.Generator(np.random.PCG64(seed))
    weights: dict[str, np.ndarray] = {}
    for name, dims in sorted(shape.tensor_shapes().items()):
        if name.endswith("norm.weight"):
            values = np.ones(dims, dtype=np.float32)
        else:
            values = rng.standard_normal(dims, dtype=np.float32) * np.float32(INITIALIZER_RANGE)
        if dtype == "bfloat16":
            weights[name] = to_bfloat16_bits(values)
        else:
            weights[name] = values.astype(np.float16 if dtype == "float16" else np.float32)
    return weights

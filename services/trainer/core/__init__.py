"""The MLX LoRA training core: pure domain code (no RPC, web, queue or storage imports).

Modules: `config` (settings and their validation), `distrust` (the distrust value and example weights),
`tokenization` (a record to tokens and a loss mask), `data` (JSONL records to examples, data order, padded
batches), `losses` (the objective of the three modes), `lora` (LoRA via mlx-lm, adapter files), `schedule`
(AdamW, warmup + cosine, clipping), `checkpoint` (exact-resume checkpoints), `trainer` (the loop).
"""

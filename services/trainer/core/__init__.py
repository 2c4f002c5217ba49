"""The MLX LoRA training core: pure domain code (no RPC, web, queue or storage imports).

Modules: `config` (settings and their validation), `distrust` (the distrust value and example weights),
`data` (records to tokens and loss masks, data order, batches), `losses` (the objective of the three modes),
`lora` (LoRA via mlx-lm, adapter files), `schedule` (AdamW, warmup + cosine, clipping), `checkpoint`
(exact-resume checkpoints), `trainer` (the loop).
"""

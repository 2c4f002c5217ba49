"""The trainer service: LoRA fine-tuning with the distrust signal, evaluation and export jobs on MLX."""

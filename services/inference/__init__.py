"""The inference service: an MLX engine serving base models and many LoRA adapters at once, over gRPC."""

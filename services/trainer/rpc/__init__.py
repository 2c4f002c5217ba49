"""The trainer's gRPC transport: one servicer per service (training, evaluation, export) and their converters."""

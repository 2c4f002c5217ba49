"""The generic job system: records, a leased store in Redis, the worker-side lifecycle and the reaper.

Every kind of job (fine-tuning, evaluation, export, dataset preparation) is a `JobKind` on this one system.
Nothing here imports MLX, grpc or fastapi.
"""

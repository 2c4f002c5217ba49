"""The Python half of the contracts: one pydantic model per concept, shared by the gateway and the services.

Each model's field names and defaults are written here once and once in the matching `.proto` message; tests
check that the two agree. Nothing here imports grpc, fastapi or MLX.
"""

"""The public HTTP API: OpenAI-compatible routes in front of the gRPC services."""

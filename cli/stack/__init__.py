"""The local stack: Redis, an S3 server, the gRPC services, a Celery worker and the gateway on one machine."""

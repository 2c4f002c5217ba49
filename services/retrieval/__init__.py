"""Retrieval: files cut into chunks, embedded, scored for provenance and indexed in a vector database on S3."""

"""The scorer service: authority weight and provenance entropy of documents, and dataset preparation jobs."""

"""OpenAI's Batch API: a file of requests run as a job on the shared job system, through the inference engine."""

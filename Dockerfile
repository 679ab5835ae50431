# agentmem: the `agentmem` command with the PostgreSQL, Chroma and metrics extras.
#   docker build -t agentmem:0.1.0 .
#   docker build -t agentmem:0.1.0-local --build-arg WITH_TORCH=1 \
#     --build-arg EXTRAS=postgres,chroma,metrics,local .      # + the CPU torch and a local model
# Everything is installed at build time; the image holds no secrets (settings come from the
# environment at run time: AGENTMEM_POSTGRES_URL, AGENTMEM_CHROMA_URL, ...).

FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY agentmem ./agentmem
COPY langchain_agentmem ./langchain_agentmem
COPY llamaindex_agentmem ./llamaindex_agentmem
ARG EXTRAS=postgres,chroma,metrics
ARG WITH_TORCH=0
# The CPU build of torch first, when asked for, so pip never resolves the CUDA one. DL3013
# (pin versions): what is installed is this project, whose pyproject bounds its dependencies.
# hadolint ignore=DL3013
RUN if [ "$WITH_TORCH" = "1" ]; then \
        pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu; \
    fi \
    && pip install --no-cache-dir ".[${EXTRAS}]" \
    && python -m compileall -q /opt/venv

FROM python:3.11.14-slim-bookworm
RUN groupadd --system --gid 10001 agentmem \
    && useradd --system --uid 10001 --gid agentmem --home-dir /home/agentmem --create-home \
       --shell /usr/sbin/nologin agentmem
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AGENTMEM_LOG_FORMAT=json \
    ANONYMIZED_TELEMETRY=False
WORKDIR /home/agentmem
# Numeric, so Kubernetes' runAsNonRoot can check it without a passwd lookup.
USER 10001:10001
EXPOSE 9464
ENTRYPOINT ["agentmem"]
CMD ["--help"]

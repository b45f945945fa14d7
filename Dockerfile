# automator: a small image that runs as a non-root user and stops cleanly on SIGTERM.
#
# BASE is any Debian bookworm image with python3 and venv; CI builds one from Debian's
# own packages (scripts/image) because it has no access to Docker Hub.
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY automator ./automator
COPY policies ./policies
# A virtual environment, copied whole into the final stage: no wheel stays in a layer.
RUN python3 -m venv /opt/automator \
 && /opt/automator/bin/pip install --no-cache-dir --disable-pip-version-check ".[aws,gcp,azure]" \
 && /opt/automator/bin/pip uninstall --yes pip

FROM ${BASE}
RUN groupadd --gid 10001 automator \
 && useradd --uid 10001 --gid 10001 --home-dir /var/lib/automator --create-home \
    --shell /usr/sbin/nologin automator
COPY --from=build /opt/automator /opt/automator
USER 10001:10001
WORKDIR /var/lib/automator
# No AUTOMATOR_* settings here: an image variable would silently beat the user's
# automator.yaml (listen:, state_dir:, log_format:). The config's own defaults fit the
# image: listen :8080, state_dir /var/lib/automator, JSON logs when stderr is not a TTY.
ENV PATH=/opt/automator/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
EXPOSE 8080
# Kubernetes sends SIGTERM, then SIGKILL after terminationGracePeriodSeconds (30 s by default);
# automator stops within --shutdown-timeout (25 s by default).
STOPSIGNAL SIGTERM
# exec form, so automator itself is PID 1 and receives SIGTERM
ENTRYPOINT ["automator"]
CMD ["run", "--config", "/etc/automator/automator.yaml"]

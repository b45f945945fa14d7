"""Prometheus metrics, in a registry of our own (not the process-global default).

Other modules increment these directly, for example
``metrics.REGISTRY_REQUESTS.labels(host="ghcr.io", status="200").inc()``;
the daemon serves them on ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)

SCANS = Counter(
    "automator_scans",
    "Reconciles of a source that ran to the end, by result (ok or error).",
    ["source", "result"],
    registry=REGISTRY,
)
CHANGES = Counter(
    "automator_changes",
    "Image changes planned for a source (committed or not).",
    ["source"],
    registry=REGISTRY,
)
COMMITS = Counter(
    "automator_commits", "Commits pushed for a source.", ["source"], registry=REGISTRY
)
PULL_REQUESTS = Counter(
    "automator_pull_requests",
    "Pull requests created, updated or closed for a source.",
    ["source", "action"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "automator_errors",
    "Errors while reconciling a source, by error type and whether a retry can help.",
    ["source", "error", "transient"],
    registry=REGISTRY,
)
CYCLE_SECONDS = Histogram(
    "automator_cycle_duration_seconds",
    "Wall time of one reconcile of one source.",
    ["source"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
LAST_SUCCESS = Gauge(
    "automator_last_success_timestamp_seconds",
    "Unix time of the last reconcile of a source that succeeded.",
    ["source"],
    registry=REGISTRY,
)
SOURCES_BUSY = Gauge(
    "automator_sources_busy",
    "Sources reconciling now or due to start (a backlog when it stays above the workers).",
    registry=REGISTRY,
)
SHARD = Gauge(
    "automator_shard_sources",
    "Sources this replica owns (reconciles), by its shard i/N.",
    ["shard"],
    registry=REGISTRY,
)
SOURCE_OWNED = Gauge(
    "automator_source_owned",
    "1 for each source this replica owns; a source no replica reports is reconciled by none.",
    ["source"],
    registry=REGISTRY,
)
WEBHOOKS = Counter(
    "automator_webhook_deliveries",
    "Webhook deliveries by payload kind and result.",
    ["kind", "result"],
    registry=REGISTRY,
)
PULLS = Counter(
    "automator_registry_pulls",
    "Manifest GETs sent to a host that bills them as pulls (the Docker Hub preset).",
    ["host"],
    registry=REGISTRY,
)
PULLS_REMAINING = Gauge(
    "automator_registry_pulls_remaining",
    "Pulls left in the host's rate-limit window, as its last answer said less our pulls since.",
    ["host"],
    registry=REGISTRY,
)
PULLS_DEFERRED = Counter(
    "automator_registry_pulls_deferred",
    "Lookups not sent because they would spend the host's reserved pulls (pull_reserve).",
    ["host"],
    registry=REGISTRY,
)
RATE_LIMIT_WAITS = Counter(
    "automator_rate_limit_waits",
    "Times a request to a registry host waited for its rate limit.",
    ["host"],
    registry=REGISTRY,
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "automator_rate_limit_wait_seconds",
    "Seconds spent waiting for registry rate limits.",
    ["host"],
    registry=REGISTRY,
)
REGISTRY_REQUESTS = Counter(
    "automator_registry_requests",
    "HTTP requests to registries, by host and status code.",
    ["host", "status"],
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "automator_http_requests",
    "Other HTTP requests (client: forge or notify), by host and status code.",
    ["client", "host", "status"],
    registry=REGISTRY,
)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def report_shard(shard: str, owned: list[str]) -> None:
    """Publish which sources this replica owns (``shard`` is ``i/N``)."""
    SHARD.clear()
    SHARD.labels(shard=shard).set(len(owned))
    SOURCE_OWNED.clear()
    for name in owned:
        SOURCE_OWNED.labels(source=name).set(1)

"""Configuration for ``automator run`` driven by a registry's own notifications.

``write_config`` writes a daemon config for some Git sources; ``notifications`` is the
distribution registry config block that POSTs push events to that daemon's webhook,
authenticated with ``SECRET`` (the daemon reads it from ``HOOK_SECRET``).
"""

from __future__ import annotations

from pathlib import Path

SECRET = "hook-secret-0123456789"


def notifications(port: int) -> str:
    """A distribution registry config block that POSTs its events to the daemon."""
    return f"""\
notifications:
  endpoints:
    - name: automator
      url: http://127.0.0.1:{port}/webhook/distribution
      headers:
        Authorization: [Bearer {SECRET}]
      timeout: 2s
      threshold: 5
      backoff: 1s
"""


def write_config(path: Path, sources: list[tuple[str, str, str]], port: int) -> Path:
    """``sources`` are (name, git url, registry host)."""
    lines = ["sources:"]
    for name, url, _ in sources:
        lines += [f"  - name: {name}", f"    url: {url}", "    paths: [apps]"]
    lines += ["write:", "  mode: push", "registries:"]
    for host in sorted({host for *_, host in sources}):
        lines += [f"  - host: {host}", "    insecure: true"]
    lines += [
        "interval: 1h",
        f"listen: 127.0.0.1:{port}",
        f"state_dir: {path.parent / 'state'}",
        "webhooks:",
        "  secret_env: HOOK_SECRET",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path

"""deploy/monitoring against the real thing: every metric name the dashboard and the
alerts use is in a running daemon's /metrics, ``promtool`` checks and unit-tests the
alerts, and a real Prometheus scraping the daemon answers the alerts' queries."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from testing import MissingServer, free_port, terminate
from testing.daemon import SECRET
from tests.automator.daemon.test_run_daemon import wait_for
from tests.conftest import need
from tests.operators.conftest import RunningDaemon

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
METRIC = re.compile(r"\bautomator_[a-z0-9_]+\b")
# the samples a family of each type exposes, after its name
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
}


def rules() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert document["kind"] == "PrometheusRule"
    return document


def alert_expressions() -> dict[str, str]:
    groups = rules()["spec"]["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def exported(url: str) -> set[str]:
    """Every sample name the daemon's /metrics declares, whether or not it has samples yet."""
    text = requests.get(url + "/metrics", timeout=5).text
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in SUFFIXES[family.type]
    }


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        need(MissingServer(f"{name} is not installed: apt-get install prometheus"))
    assert path is not None
    return path


def test_every_metric_name_in_the_dashboard_and_the_alerts_is_exported(
    daemon: RunningDaemon,
) -> None:
    used = {
        name
        for expr in [*dashboard_expressions(), *alert_expressions().values()]
        for name in METRIC.findall(expr)
    }
    assert len(used) >= 10
    missing = used - exported(daemon.url)
    assert not missing, f"deploy/monitoring uses metrics the daemon does not export: {missing}"
    # and the dashboard shows what operators ask for
    assert {
        "automator_scans_total",
        "automator_changes_total",
        "automator_commits_total",
        "automator_pull_requests_total",
        "automator_errors_total",
        "automator_registry_requests_total",
        "automator_rate_limit_waits_total",
        "automator_webhook_deliveries_total",
    } <= used


def write_rules(directory: Path) -> Path:
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump(rules()["spec"], sort_keys=False))
    return path


def test_promtool_checks_the_rules_and_every_alert_has_a_unit_test(tmp_path: Path) -> None:
    promtool = tool("promtool")
    write_rules(tmp_path)
    shutil.copy(MONITORING / "alerts_test.yaml", tmp_path)
    check = subprocess.run(
        [promtool, "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 4 rules found" in check.stdout + check.stderr
    test = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert test.returncode == 0, test.stdout + test.stderr
    # each alert is expected to fire somewhere and to stay silent somewhere
    cases = yaml.safe_load((MONITORING / "alerts_test.yaml").read_text())["tests"]
    checks = [check for case in cases for check in case["alert_rule_test"]]
    for alert in alert_expressions():
        expected = [c["exp_alerts"] for c in checks if c["alertname"] == alert]
        assert any(expected) and not all(expected), alert


@pytest.fixture
def prometheus(tmp_path: Path, daemon: RunningDaemon) -> Iterator[str]:
    """A real Prometheus scraping the daemon every second, with the alert rules loaded."""
    binary = tool("prometheus")
    port = free_port()
    target = daemon.url.removeprefix("http://")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(write_rules(tmp_path))],
        "scrape_configs": [{"job_name": "automator", "static_configs": [{"targets": [target]}]}],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    command = [
        binary,
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with (tmp_path / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(url + "/-/ready", timeout=1).ok, "prometheus ready", 60)
        yield url
    finally:
        terminate(proc)


def query(url: str, expr: str) -> list[dict[str, Any]]:
    answer = requests.get(url + "/api/v1/query", params={"query": expr}, timeout=5).json()
    assert answer["status"] == "success", answer
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def test_a_real_prometheus_scrapes_the_daemon_and_the_alerts_find_series(
    daemon: RunningDaemon, prometheus: str
) -> None:
    hook = daemon.url + "/webhook/generic"
    forged = {"X-Automator-Signature": "sha256=" + "0" * 64}
    body = b'{"image": "example.com/acme/api"}'
    assert requests.post(hook, data=body, headers=forged, timeout=5).status_code == 403
    wait_for(
        lambda: bool(query(prometheus, 'automator_webhook_deliveries_total{result="403"}')),
        "the first forged webhook scraped",
        60,
    )
    for _ in range(12):  # a burst past the alert's 10 in 5m
        assert requests.post(hook, data=body, headers=forged, timeout=5).status_code == 403

    expressions = alert_expressions()
    for alert, expr in expressions.items():  # every metric an alert reads is scraped
        for name in set(METRIC.findall(expr)):
            wait_for(lambda n=name: bool(query(prometheus, n)), f"{name} for {alert}", 60)

    burst = expressions["AutomatorWebhookSignatureFailures"]
    wait_for(lambda: bool(query(prometheus, burst)), "the burst alert's expression", 60)
    assert query(prometheus, burst)[0]["metric"] == {"kind": "generic"}
    failing = expressions["AutomatorSourceFailing"]
    wait_for(lambda: bool(query(prometheus, failing)), "the failing source's expression", 60)
    assert [r["metric"]["source"] for r in query(prometheus, failing)] == ["broken"]
    assert SECRET not in (daemon.tmp / "daemon.log").read_text()

"""Sharding: rendezvous hashing (property tests), where the index comes from, and a
sharded daemon that reconciles, and reports on /readyz and /metrics, only its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from automator import adapters
from automator.config import parse_config, with_overrides
from automator.daemon.shards import Shard, owner, parse_shard, shard_from_hostname, source_key
from automator.errors import ConfigError
from tests.automator.daemon.test_daemon import BOUND, Running, stop_at

KEYS = st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=50, unique=True)


@given(keys=KEYS, count=st.integers(1, 16))
def test_every_key_has_exactly_one_owner_and_every_shard_agrees(
    keys: list[str], count: int
) -> None:
    for key in keys:
        owners = [i for i in range(count) if Shard(i, count).owns(key, "git://x")]
        assert owners == [owner(source_key(key, "git://x"), count)]


@given(keys=KEYS, count=st.integers(1, 16))
def test_adding_a_replica_moves_keys_only_to_the_new_replica(keys: list[str], count: int) -> None:
    for key in keys:
        before, after = owner(key, count), owner(key, count + 1)
        assert after in (before, count)


@settings(max_examples=20, deadline=None)
@given(count=st.integers(1, 12), salt=st.text(max_size=8))
def test_going_from_n_to_n_plus_1_replicas_moves_about_one_in_n_plus_1(
    count: int, salt: str
) -> None:
    keys = [f"{salt}/source-{i}\ngit://git.test/repo-{i}.git" for i in range(4000)]
    moved = sum(owner(k, count) != owner(k, count + 1) for k in keys) / len(keys)
    # binomial, sd <= 0.008 at 4000 keys: 0.04 is five of them
    assert abs(moved - 1 / (count + 1)) < 0.04
    spread = Counter(owner(k, count + 1) for k in keys)
    assert all(abs(n / len(keys) - 1 / (count + 1)) < 0.04 for n in spread.values())


@pytest.mark.parametrize(
    ("text", "shard"), [("0/1", Shard()), ("2/4", Shard(2, 4)), (" 3 / 4 ", Shard(3, 4))]
)
def test_parse_shard(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard


@pytest.mark.parametrize("text", ["4/4", "1", "-1/4", "a/b", "1/0", ""])
def test_parse_shard_refuses_what_is_not_i_of_n(text: str) -> None:
    with pytest.raises(ConfigError, match="i/N"):
        parse_shard(text)


@pytest.mark.parametrize(
    ("hostname", "shard"),
    [("automator-0", Shard(0, 4)), ("automator-3.automator-shards.ns.svc", Shard(3, 4))],
)
def test_a_statefulset_pod_takes_its_ordinal(hostname: str, shard: Shard) -> None:
    assert shard_from_hostname(hostname, 4) == shard


@pytest.mark.parametrize(
    ("hostname", "problem"), [("automator", "-<ordinal>"), ("automator-4", "not below")]
)
def test_a_hostname_without_a_usable_ordinal_is_refused(hostname: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        shard_from_hostname(hostname, 4)


CONFIG = {"sources": [{"name": "fleet", "url": "git://x/fleet.git"}]}


def test_the_shard_comes_from_the_option_then_env_then_replicas_and_hostname() -> None:
    config = parse_config({**CONFIG, "replicas": 4})
    assert adapters.shard(config, "automator-2") == Shard(2, 4)
    assert adapters.shard(parse_config(CONFIG), "automator-2") == Shard()
    env = with_overrides(config, env={"AUTOMATOR_SHARD": "1/3"})
    assert adapters.shard(env, "automator-2") == Shard(1, 3)
    cli = with_overrides(config, env={"AUTOMATOR_SHARD": "1/3"}, cli={"shard": "0/2"})
    assert adapters.shard(cli, "automator-2") == Shard(0, 2)
    replicas = with_overrides(parse_config(CONFIG), env={"AUTOMATOR_REPLICAS": "5"})
    assert adapters.shard(replicas, "automator-4") == Shard(4, 5)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("shard", "4/4", "not a shard"), ("peer_url", "http://x:8080", "no {index}")],
)
def test_config_refuses_a_bad_shard_or_peer_url(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({**CONFIG, key: value})


ROOT = Path(__file__).resolve().parents[3]
SOURCES = [(f"src-{i}", f"git://git.test/repo-{i}.git") for i in range(12)]


def test_a_sharded_daemon_reconciles_and_reports_only_the_sources_it_owns(
    tmp_path: Path,
) -> None:
    shard = Shard(1, 3)
    mine = [name for name, remote in SOURCES if shard.owns(name, remote)]
    assert 0 < len(mine) < len(SOURCES)
    stop = threading.Event()
    run = Running(tmp_path, SOURCES, stop_at(stop, 2), stop=stop, shard=shard)
    run.clock.held = True
    run.thread.start()
    try:
        assert run.ready.wait(BOUND)
        host, port = run.daemon.address or ("", 0)
        run.until(lambda: {n for n, _ in run.engine.calls} >= set(mine), "each owned source")
        ready = requests.get(f"http://{host}:{port}/readyz", timeout=BOUND)
        assert f"shard 1/3 owns {len(mine)} of 12 sources: {', '.join(mine)}\n" in ready.text
        text = requests.get(f"http://{host}:{port}/metrics", timeout=BOUND).text
        samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
        owned = {s.labels["source"] for s in samples if s.name == "automator_source_owned"}
        assert owned == set(mine)
        shards = [(s.labels, s.value) for s in samples if s.name == "automator_shard_sources"]
        assert shards == [({"shard": "1/3"}, len(mine))]
        run.clock.release()
        run.join()
    finally:
        run.stop.set()
        run.clock.release()
        run.thread.join(BOUND)
    assert {n for n, _ in run.engine.calls} == set(mine)


def test_run_once_with_a_shard_reconciles_only_that_shards_sources(tmp_path: Path) -> None:
    """Every source points at a missing repository, so each one tried fails by name."""
    names = [f"src-{i}" for i in range(8)]
    config = tmp_path / "automator.yaml"
    urls = {n: str(tmp_path / "missing" / f"{n}.git") for n in names}
    config.write_text("sources:\n" + "".join(f"  - {{name: {n}, url: {urls[n]}}}\n" for n in names))
    shard = Shard(0, 2)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AUTOMATOR_SHARD": "1/2"}  # the option wins
    state = str(tmp_path / "state")
    args = ["run", "--once", "--config", str(config), "--state-dir", state, "--shard", "0/2"]
    ran = subprocess.run(
        [sys.executable, "-m", "automator", "--log-format", "text", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 1, ran.stderr
    tried = {n for n in names if re.search(rf"\b{n}\b", ran.stderr)}
    assert tried == {n for n in names if shard.owns(n, urls[n])}
    assert 0 < len(tried) < len(names)

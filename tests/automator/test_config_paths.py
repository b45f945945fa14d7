"""Relative paths in automator.yaml are read from its directory, whatever the cwd."""

from __future__ import annotations

from pathlib import Path

import pytest

from automator.config import load_config
from automator.config_paths import is_local_url
from automator.errors import ConfigError
from testing.gitserver import make_bare_repo
from tests.e2e.test_skeleton import automator

CONFIG = """\
sources:
  - name: fleet
    url: {url}
    auth: {{token_file: secrets/token, ssh_key_file: /abs/key}}
registries:
  - host: registry.test
    ca_bundle: certs/ca.pem
    docker_config: ~/.docker/config.json
webhooks: {{secret_file: ../shared/webhook}}
state_dir: state
"""


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("fleet.git", True),
        ("./repos/fleet", True),
        ("/srv/fleet.git", True),
        ("https://github.com/acme/fleet.git", False),
        ("git@github.com:acme/fleet.git", False),
        ("file:///srv/fleet.git", False),
        ("ssh://git@host/fleet.git", False),
    ],
)
def test_which_urls_are_local_paths(url: str, local: bool) -> None:
    assert is_local_url(url) is local


def test_relative_paths_are_read_from_the_config_directory(tmp_path: Path) -> None:
    config_dir = tmp_path / "conf"
    (config_dir / "repos" / "fleet").mkdir(parents=True)
    path = config_dir / "automator.yaml"
    path.write_text(CONFIG.format(url="repos/fleet"))
    config = load_config(path)
    assert config.sources[0].url == str(config_dir / "repos" / "fleet")
    auth = config.sources[0].auth
    assert auth is not None
    assert (auth.token_file, auth.ssh_key_file) == (str(config_dir / "secrets/token"), "/abs/key")
    assert config.registries[0].ca_bundle == str(config_dir / "certs/ca.pem")
    assert config.registries[0].docker_config == "~/.docker/config.json"
    assert config.webhooks is not None
    assert config.webhooks.secret_file == str(tmp_path / "shared" / "webhook")
    assert config.state_dir == str(config_dir / "state")


def test_a_relative_url_that_leads_nowhere_says_so(tmp_path: Path) -> None:
    path = tmp_path / "automator.yaml"
    path.write_text(CONFIG.format(url="fleet.git"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: sources[0].url: 'fleet.git' is {tmp_path / 'fleet.git'}, which does not"
        " exist; a relative path is read from the config file's directory"
    )


def test_check_from_another_directory_reads_a_relative_source(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    deployment = (
        'kind: Pod\nspec:\n  containers:\n    - {name: a, image: "x/y:1.0"} # automator: semver:*\n'
    )
    make_bare_repo(conf / "fleet.git", {"pod.yaml": deployment})
    (conf / "automator.yaml").write_text(
        "sources: [{name: fleet, url: fleet.git}]\nstate_dir: state\n"
        "allow_unlisted_registries: true\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = automator("check", "--config", "../conf/automator.yaml", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "fleet: pod.yaml:4  x/y:1.0  semver:*  (marker)\n"
    assert (conf / "state").is_dir() and not (elsewhere / "state").exists()

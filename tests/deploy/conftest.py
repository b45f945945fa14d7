"""Fixtures for the deploy checks: a real API server, the built container image."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testing import MissingServer
from testing.kube import ApiServer
from tests.conftest import need


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    try:
        server = ApiServer(tmp_path_factory.mktemp("kube"))
    except MissingServer as exc:
        need(exc)
    with server:
        yield server

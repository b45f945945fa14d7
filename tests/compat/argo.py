"""Helpers for the Argo CD Image Updater ports: upstream commits, and reading an annotation set
the way automator reads an Application (``automator.manifests.argo.settings``)."""

from __future__ import annotations

import pytest

from automator.manifests.argo.settings import Image, from_annotations

# argoproj-labs/argocd-image-updater
V0_18 = "b4f02a6ff24e88780ec71ea4575894e1688ebdbb"  # tag v0.18.0, the annotation era
HEAD = "de2cfec67880a232bbdfce81c985796251be242a"  # 2026-08-18, after v1.3.0
SCANNER = "registry-scanner/pkg/image/"
PREFIX = "argocd-image-updater.argoproj.io/"


def case(file: str, test: str, commit: str, *values: object) -> object:
    """One ported case; its id names the upstream file, test and commit."""
    return pytest.param(*values, id=f"{file}::{test}@{commit[:7]}")


def image(annotations: dict[str, str], item: str = "dummy=foo/bar:1.12") -> Image:
    """The one image an Application with ``image-list: item`` and ``annotations`` holds."""
    full = {PREFIX + "image-list": item, **{PREFIX + k: v for k, v in annotations.items()}}
    app = from_annotations("app", "argocd", "app.yaml:1", {}, full)
    assert app is not None and len(app.images) == 1
    return app.images[0]

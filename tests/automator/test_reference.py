"""The distribution reference grammar and Docker Hub normalisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automator.errors import ReferenceError_
from automator.reference import (
    ImageRef,
    check_digest,
    check_tag,
    is_tag,
    parse_reference,
)

SHA = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "canonical", "tag", "digest"),
    [
        ("nginx", "docker.io/library/nginx", None, None),
        ("nginx:1.25", "docker.io/library/nginx", "1.25", None),
        ("library/nginx", "docker.io/library/nginx", None, None),
        ("docker.io/nginx", "docker.io/library/nginx", None, None),
        ("index.docker.io/nginx", "docker.io/library/nginx", None, None),
        ("registry-1.docker.io/acme/api", "docker.io/acme/api", None, None),
        ("acme/api:v1", "docker.io/acme/api", "v1", None),
        ("ghcr.io/acme/api:1.4.2", "ghcr.io/acme/api", "1.4.2", None),
        ("localhost/app", "localhost/app", None, None),
        ("localhost:5000/app:x", "localhost:5000/app", "x", None),
        ("127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c", None, None),
        ("[::1]:5000/app", "[::1]:5000/app", None, None),
        ("Registry.Example/app", "Registry.Example/app", None, None),
        ("quay.io/a__b/c-d.e_f", "quay.io/a__b/c-d.e_f", None, None),
        ("a---b/c", "docker.io/a---b/c", None, None),
        (f"nginx@{SHA}", "docker.io/library/nginx", None, SHA),
        (f"ghcr.io/a/b:1.0@{SHA}", "ghcr.io/a/b", "1.0", SHA),
        ("app:" + "x" * 128, "docker.io/library/app", "x" * 128, None),
    ],
)
def test_parse_and_normalise(text: str, canonical: str, tag: str, digest: str) -> None:
    ref = parse_reference(text)
    assert ref.canonical_name == canonical
    assert (ref.tag, ref.digest) == (tag, digest)
    assert str(ref) == text
    assert str(ref.normalised()).startswith(canonical)
    assert parse_reference(str(ref.normalised())).canonical_name == canonical


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Nginx",  # upper case in the path
        "acme/Api",
        "nginx:",
        "nginx:-bad",
        "nginx:" + "x" * 129,
        "nginx:1.0\n",
        "nginx:1.0\nkind: Secret",
        "nginx 1.0",
        "nginx:{{ .Values.tag }}",
        "ghcr.io//a",
        "ghcr.io/a/",
        "-a/b",
        "a_/b",
        "a/b:c:d",
        "http://ghcr.io/a",
        "a" * 64,  # an image ID
        "nginx@sha256:abc",
        "nginx@sha256:" + "A" * 64,  # go-digest wants lower-case hex
        "nginx@md5:" + "a" * 32,
        "x" * 200 + "/" + "y" * 60,
        "ünïcode",
        "nginx:１.0",  # full-width digit is \w in Unicode, not in the grammar
    ],
)
def test_rejects(text: str) -> None:
    with pytest.raises(ReferenceError_) as info:
        parse_reference(text)
    assert "\n" not in str(info.value)


def test_with_tag_checks_the_tag() -> None:
    ref = parse_reference("ghcr.io/acme/api:1.0")
    assert str(ref.with_tag("1.1", SHA)) == f"ghcr.io/acme/api:1.1@{SHA}"
    with pytest.raises(ReferenceError_):
        ref.with_tag("1.1\n- evil: yes")
    with pytest.raises(ReferenceError_):
        ref.with_tag("1.1", "sha256:zz")


def test_check_digest() -> None:
    assert check_digest(SHA) == SHA
    assert check_digest("sha512:" + "0" * 128)
    with pytest.raises(ReferenceError_):
        check_digest("sha256:" + "a" * 63)


def test_ref_is_frozen() -> None:
    ref = ImageRef("", "nginx")
    with pytest.raises(AttributeError):
        ref.tag = "x"  # type: ignore[misc]


@given(st.text(max_size=200))
def test_any_text_parses_to_a_round_trip_or_is_refused(text: str) -> None:
    try:
        ref = parse_reference(text)
    except ReferenceError_:
        return
    assert str(ref) == text
    assert text.isascii() and not any(c.isspace() for c in text)


@given(st.text(max_size=140))
def test_tag_grammar_accepts_only_safe_text(tag: str) -> None:
    if is_tag(tag):
        assert check_tag(tag) == tag
        assert tag.isascii() and not any(c in tag for c in " \n\r\t:#'\"{}[]")
    else:
        with pytest.raises(ReferenceError_):
            check_tag(tag)


@given(
    st.from_regex(
        r"[a-z0-9]{1,10}(/[a-z0-9]{1,10}){0,2}:[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True
    )
)
def test_generated_references_parse(text: str) -> None:
    ref = parse_reference(text)
    assert ref.registry in ("docker.io", "localhost")

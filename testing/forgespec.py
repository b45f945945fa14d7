"""Check fake-forge traffic against the forges' published API descriptions.

``OpenApiCheck`` (GitHub, GitLab: OpenAPI 3.0) uses openapi-core. ``SwaggerCheck``
(Gitea, Forgejo: Swagger 2.0, which openapi-core cannot read) checks the operation,
its query and body parameters and the response body against the slice's
``definitions`` with jsonschema. Both return a list of problems; empty means valid.

Answers no forge documents per operation (401, 403, 429 and 5xx, which the real
servers send from any endpoint and the tests inject) skip response validation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

# the API description slices and their provenance (data/README.md)
DATA = Path(__file__).resolve().parent / "data"
GENERIC = {401, 403, 429}


def load(name: str) -> dict[str, Any]:
    """One of the slices in ``data/``, by file name."""
    spec: dict[str, Any] = json.loads((DATA / name).read_text())
    return spec


@dataclass(frozen=True)
class Exchange:
    """One request and its response as the fake server saw them."""

    method: str
    path: str  # as sent, percent-encoding kept, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int
    response: bytes
    response_type: str = "application/json"
    canned: bool = False  # injected by the test: only the request is checked


def _generic(status: int) -> bool:
    return status in GENERIC or status >= 500


@dataclass
class OpenApiCheck:
    """Validation against an OpenAPI 3.0 description with openapi-core."""

    spec: dict[str, Any]
    server: str  # the URL the spec's paths hang off, e.g. https://api.github.com
    strip: str = ""  # a path prefix the fake serves under that the spec's paths lack
    # paths (regexes) of calls the description does not cover: counted, not validated
    undescribed: tuple[str, ...] = ()
    unvalidated: list[str] = field(default_factory=list)
    api: Any = field(init=False)

    def __post_init__(self) -> None:
        self.api = OpenAPI.from_dict(self.spec, config=Config(spec_validator_cls=None))

    def __call__(self, ex: Exchange) -> list[str]:
        path = ex.path.removeprefix(self.strip)
        if any(re.fullmatch(pattern, path) for pattern in self.undescribed):
            self.unvalidated.append(f"{ex.method} {path}")
            return []
        request = MockRequest(
            self.server,
            ex.method.lower(),
            path,
            args=ex.query,
            headers=ex.headers,
            data=ex.body or None,
            content_type=ex.headers.get("Content-Type", "application/json"),
        )
        problems = []
        try:
            self.api.validate_request(request)
        except Exception as exc:
            problems.append(f"{ex.method} {path} request: {_why(exc)}")
        if ex.canned:
            return problems
        response = MockResponse(ex.response, ex.status, content_type=ex.response_type)
        try:
            self.api.validate_response(request, response)
        except Exception as exc:
            if not (_generic(ex.status) and "ResponseNotFound" in type(exc).__name__):
                problems.append(f"{ex.method} {path} -> {ex.status} response: {_why(exc)}")
        return problems


@dataclass
class SwaggerCheck:
    """Validation against a Swagger 2.0 description: operation, parameters, bodies."""

    spec: dict[str, Any]
    routes: list[tuple[re.Pattern[str], str]] = field(init=False)

    def __post_init__(self) -> None:
        base = self.spec.get("basePath", "")
        self.routes = [
            (re.compile(base + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"), template)
            for template in self.spec["paths"]
        ]

    def __call__(self, ex: Exchange) -> list[str]:
        template = next((t for pattern, t in self.routes if pattern.match(ex.path)), None)
        op = self.spec["paths"].get(template or "", {}).get(ex.method.lower())
        if op is None:
            return [f"{ex.method} {ex.path}: no such operation in the API description"]
        problems = []
        params = op.get("parameters", [])
        known = {p["name"] for p in params if p["in"] == "query"}
        problems += [
            f"{ex.method} {ex.path}: unknown query parameter {k}"
            for k in ex.query
            if k not in known
        ]
        for param in params:
            if param["in"] == "query" and param["name"] in ex.query:
                for value in ex.query[param["name"]]:
                    problems += self._scalar(param, value, ex)
            elif param["in"] == "body":
                problems += self._schema(
                    param["schema"], _json(ex.body), f"{ex.method} {ex.path} body"
                )
            elif param.get("required") and param["in"] == "query" and param["name"] not in ex.query:
                problems.append(f"{ex.method} {ex.path}: missing query parameter {param['name']}")
        response = op["responses"].get(str(ex.status), op["responses"].get("default"))
        if ex.canned:
            return problems
        if response is None:
            if not _generic(ex.status):
                problems.append(f"{ex.method} {ex.path}: status {ex.status} is not documented")
            return problems
        if "$ref" in response:
            response = self.spec["responses"][response["$ref"].rsplit("/", 1)[1]]
        if "schema" in response:
            where = f"{ex.method} {ex.path} -> {ex.status}"
            problems += self._schema(response["schema"], _json(ex.response), where)
        return problems

    def _scalar(self, param: dict[str, Any], value: str, ex: Exchange) -> list[str]:
        kind = (
            param.get("items", {}).get("type")
            if param.get("type") == "array"
            else param.get("type")
        )
        if kind == "integer" and not re.fullmatch(r"-?\d+", value):
            return [f"{ex.method} {ex.path}: {param['name']}={value!r} is not an integer"]
        if "enum" in param and value not in param["enum"]:
            return [f"{ex.method} {ex.path}: {param['name']}={value!r} not in {param['enum']}"]
        return []

    def _schema(self, schema: dict[str, Any], value: Any, where: str) -> list[str]:
        root = {**schema, "definitions": self.spec["definitions"]}
        validator = jsonschema.Draft4Validator(root)
        return [
            f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message[:120]}"
            for e in validator.iter_errors(value)
        ]


def _json(data: bytes) -> Any:
    try:
        return json.loads(data or b"null")
    except ValueError:
        return data.decode(errors="replace")


def _why(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    errors = getattr(cause, "schema_errors", None)
    if errors:
        return "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message[:120]}" for e in errors[:3]
        )
    return f"{type(cause).__name__}: {str(cause)[:200]}"

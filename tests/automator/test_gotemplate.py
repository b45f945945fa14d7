"""The Go text/template subset used for Flux messageTemplates: output as Go's, and
errors that name the template position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from automator.write.gotemplate import TemplateError, parse, render


@dataclass(frozen=True)
class Obj:
    Kind: str
    Name: str
    go_type = "update.ObjectIdentifier"

    def Upper(self) -> str:
        return self.Name.upper()


DATA: dict[str, Any] = {
    "Name": "apps",
    "Files": {"b.yaml": 2, "a.yaml": 1},
    "List": ["x", "y"],
    "Empty": [],
    "Objects": {Obj("Deployment", "web"): ["1 -> 2"], Obj("Kustomization", ""): ["3 -> 4"]},
    "Obj": Obj("Deployment", "web"),
    "N": 3,
}

CASES = [
    ("plain text", "plain text"),
    ("{{ .Name }}", "apps"),
    ("a  {{- .Name -}}  b", "aappsb"),
    ("{{/* a comment */}}x", "x"),
    ("{{ range $k, $v := .Files }}{{ $k }}={{ $v }};{{ end }}", "a.yaml=1;b.yaml=2;"),
    ("{{ range $i, $v := .List }}{{ $i }}{{ $v }}{{ end }}", "0x1y"),
    ("{{ range .List }}[{{ . }}]{{ end }}", "[x][y]"),
    ("{{ range .Empty }}x{{ else }}none{{ end }}", "none"),
    (
        "{{ range $o, $c := .Objects }}{{ $o.Kind }}:{{ index $c 0 }};{{ end }}",
        "Deployment:1 -> 2;Kustomization:3 -> 4;",
    ),
    ("{{ if .Empty }}a{{ else if .List }}b{{ else }}c{{ end }}", "b"),
    ("{{ if not .Empty }}yes{{ end }}", "yes"),
    ("{{ with .Obj }}{{ .Kind }}/{{ .Name }}{{ end }}", "Deployment/web"),
    ("{{ .Obj.Upper }}", "WEB"),
    ('{{ $x := .Name }}{{ $x = "other" }}{{ $x }}', "other"),
    ('{{ .Name | upper | printf "%s!" }}', "APPS!"),
    ('{{ printf "%d files, %q" (len .Files) .Name }}', '2 files, "apps"'),
    ("{{ if and (eq .N 3) (gt (len .List) 1) }}ok{{ end }}", "ok"),
    ('{{ join ", " .List }}', "x, y"),
    ("{{ .Missing }}", "<no value>"),
    ("{{ `raw {{` }}", "raw {{"),
    ('{{ default "none" .Missing }}', "none"),
    ("{{ $.Name }}{{ range .List }}{{ $.Name }}{{ end }}", "appsappsapps"),
    ('{{ trimPrefix "ap" .Name }} {{ replace "p" "P" .Name }}', "ps aPPs"),
]


@pytest.mark.parametrize(("template", "expected"), CASES)
def test_renders_as_go_does(template: str, expected: str) -> None:
    assert render(template, DATA) == expected


ERRORS = [
    ("x {{ sha256sum .Name }}", '1:6: function "sha256sum" not supported'),
    ("line\n  {{ .Name", "2:3: unclosed action"),
    ("{{ if .Name }}x", "1:3: {{if}} has no {{end}}"),
    ("x\n{{ end }}", "2:3: unexpected {{end}}"),
    ('{{ template "t" }}', "1:3: {{template}} is not supported in commit messages"),
    ('{{ define "t" }}x{{ end }}', "1:3: {{define}} is not supported in commit messages"),
    ("{{ $nope }}", "1:4: undefined variable: $nope"),
    ("{{ .Obj.Nope }}", "1:4: can't evaluate field Nope in type update.ObjectIdentifier"),
    ("{{ range $a, $b, $c := .List }}{{ end }}", "1:3: range declares at most two variables"),
    ("{{ .Name .Name }}", "1:4: can't give arguments to non-function '.Name'"),
    ("{{ ; }}", "1:4: unexpected ';' in action"),
]


@pytest.mark.parametrize(("template", "message"), ERRORS)
def test_errors_name_the_position(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(template, DATA)
    assert str(caught.value) == "template: commit message:" + message


def test_unsupported_functions_are_found_without_data() -> None:
    with pytest.raises(TemplateError, match='function "now" not supported'):
        parse("{{ if true }}{{ now }}{{ end }}")

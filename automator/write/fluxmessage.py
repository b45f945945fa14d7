"""Commit messages rendered from a Flux ImageUpdateAutomation's ``messageTemplate``.

The data is what image-automation-controller gives its template
(``internal/source/source.go`` ``TemplateData``):

    .AutomationObject            namespace/name (.Namespace, .Name)
    .Changed.FileChanges         file -> object -> [change]
    .Changed.Changes             every change once: .OldValue .NewValue .Setter
    .Changed.Objects             object -> [change], whatever the file
    .Values                      spec.git.commit.messageTemplateValues
    .Updated (and .Changed.ImageResult), from before IAC v1.0:
        .Updated.Images          the images written (.String .Identifier .Repository
                                 .Registry .Name .Policy)
        .Updated.Files           file -> .Objects (object -> [image])
        .Updated.Objects         object -> [image]

An object is ``.APIVersion .Kind .Name .Namespace``; maps of objects are ranged in
file order. The template language is ``automator.write.gotemplate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from automator.manifests.document import compose, decode, mapping_get, scalar_get
from automator.manifests.markers import find_markers
from automator.model import Change, Part, Plan
from automator.write.gotemplate import parse, render

DEFAULT_TEMPLATE = "Update from image update automation"


@dataclass(frozen=True, slots=True)
class NamespacedName:
    Namespace: str
    Name: str
    go_type = "types.NamespacedName"

    def __str__(self) -> str:
        return f"{self.Namespace}/{self.Name}"


@dataclass(frozen=True, slots=True)
class ObjectIdentifier:
    APIVersion: str
    Kind: str
    Name: str
    Namespace: str
    go_type = "update.ObjectIdentifier"

    def __str__(self) -> str:
        return f"{{{{{self.APIVersion} {self.Kind}}} {{{self.Name} {self.Namespace}}}}}"


@dataclass(frozen=True, slots=True)
class FluxChange:
    OldValue: str
    NewValue: str
    Setter: str
    go_type = "update.Change"

    def __str__(self) -> str:
        return f"{{{self.OldValue} {self.NewValue} {self.Setter}}}"


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image written, as the pre-v1 ``.Updated`` data showed it."""

    change: Change
    policy: NamespacedName
    go_type = "update.imageRef"

    def String(self) -> str:
        return str(self.change.image)

    def Identifier(self) -> str:
        return self.change.image.tag or self.change.image.digest or ""

    def Repository(self) -> str:
        return self.change.image.repository

    def Registry(self) -> str:
        registry = self.change.image.registry  # go-containerregistry spells Docker Hub so
        return "index.docker.io" if registry == "docker.io" else registry

    def Name(self) -> str:
        """Fully qualified, as go-containerregistry's ``Name()``."""
        image = self.change.image
        name = f"{self.Registry()}/{image.repository}"
        return (
            name
            + (f":{image.tag}" if image.tag else "")
            + (f"@{image.digest}" if image.digest else "")
        )

    def Policy(self) -> NamespacedName:
        return self.policy

    def __str__(self) -> str:
        return self.String()


@dataclass(frozen=True, slots=True)
class FileResult:
    Objects: dict[ObjectIdentifier, list[ImageRef]]
    go_type = "update.FileResult"


@dataclass(frozen=True, slots=True)
class ImageResult:
    Files: dict[str, FileResult]
    go_type = "update.ImageResult"

    def Images(self) -> list[ImageRef]:
        seen: dict[str, ImageRef] = {}
        for result in self.Files.values():
            for refs in result.Objects.values():
                for ref in refs:
                    seen.setdefault(ref.String(), ref)
        return list(seen.values())

    def Objects(self) -> dict[ObjectIdentifier, list[ImageRef]]:
        merged: dict[ObjectIdentifier, list[ImageRef]] = {}
        for result in self.Files.values():
            for oid, refs in result.Objects.items():
                merged.setdefault(oid, []).extend(refs)
        return merged


@dataclass(frozen=True, slots=True)
class Result:
    FileChanges: dict[str, dict[ObjectIdentifier, list[FluxChange]]]
    ImageResult: ImageResult
    go_type = "update.Result"

    def Changes(self) -> list[FluxChange]:
        every = [c for objects in self.FileChanges.values() for cs in objects.values() for c in cs]
        return list(dict.fromkeys(every))

    def Objects(self) -> dict[ObjectIdentifier, list[FluxChange]]:
        merged: dict[ObjectIdentifier, list[FluxChange]] = {}
        for objects in self.FileChanges.values():
            for oid, changes in objects.items():
                merged.setdefault(oid, []).extend(changes)
        return merged


@dataclass(frozen=True, slots=True)
class TemplateData:
    AutomationObject: NamespacedName
    Changed: Result
    Updated: ImageResult
    Values: dict[str, str] = field(default_factory=dict)
    go_type = "source.TemplateData"


def check_message_template(template: str) -> None:
    """Raise TemplateError (a ConfigError) now if ``template`` cannot be parsed."""
    parse(template)


def flux_message(
    plan: Plan,
    template: str | None,
    automation: tuple[str, str],
    values: dict[str, str],
    base: str = ".",
) -> str:
    """The commit message for a spliced ``plan``, as the automation's template says."""
    data = template_data(plan, automation, values, base)
    return render(template or DEFAULT_TEMPLATE, data)


def template_data(
    plan: Plan, automation: tuple[str, str], values: dict[str, str], base: str = "."
) -> TemplateData:
    """What the template sees for ``plan`` (its ``files`` hold the edited bytes).

    File names are relative to ``base`` (the automation's ``update.path``), as Flux's are.
    """
    changes: dict[str, dict[ObjectIdentifier, list[FluxChange]]] = {}
    images: dict[str, dict[ObjectIdentifier, list[ImageRef]]] = {}
    lookups: dict[str, tuple[list[tuple[int, int, ObjectIdentifier]], dict[int, str]]] = {}
    for change in plan.changes:
        file = change.site.file
        if file not in lookups:
            lookups[file] = _file_facts(file, plan.files.get(file, b""))
        objects, setters = lookups[file]
        oid = next(
            (o for first, last, o in objects if first <= change.site.line <= last),
            ObjectIdentifier("", "", "", ""),
        )
        setter = setters.get(change.site.line, "")
        shown = file if base in ("", ".") else str(PurePosixPath(file).relative_to(base))
        changes.setdefault(shown, {}).setdefault(oid, []).append(
            FluxChange(change.old, change.new, setter)
        )
        namespace, _, name = setter.partition(":")
        ref = ImageRef(change, NamespacedName(namespace, name.partition(":")[0]))
        images.setdefault(shown, {}).setdefault(oid, []).append(ref)
    updated = ImageResult({f: FileResult(o) for f, o in images.items()})
    return TemplateData(
        NamespacedName(*automation), Result(changes, updated), updated, dict(values)
    )


def _file_facts(
    path: str, data: bytes
) -> tuple[list[tuple[int, int, ObjectIdentifier]], dict[int, str]]:
    """Each document's line span and identity, and each ``$imagepolicy`` setter by line."""
    text = decode(path, data).text
    objects: list[tuple[int, int, ObjectIdentifier]] = []
    for document in compose(path, text):
        metadata = mapping_get(document, "metadata")
        oid = ObjectIdentifier(
            scalar_get(document, "apiVersion") or "",
            scalar_get(document, "kind") or "",
            scalar_get(metadata, "name") or "",
            scalar_get(metadata, "namespace") or "",
        )
        objects.append((document.start_mark.line + 1, document.end_mark.line + 1, oid))
    setters = {}
    for marker in find_markers(text):
        if marker.kind == "imagepolicy":
            suffix = "" if marker.part in (None, Part.REFERENCE) else f":{marker.part}"
            setters[marker.line] = marker.body + suffix
    return objects, setters

"""Finding image Sites in a config repo's YAML, and editing them byte-exactly.

    scan_files(files)            (path, bytes) pairs -> ScanResult(sites, skipped, files_scanned)
    edit_file(path, data, chg)   bytes with the changes spliced in, verified by a re-parse
    is_manifest_path(path)       is this repo-relative path a YAML file we read?
    check_report(result)         the lines ``automator check`` prints
    check_errors(result)         the mistakes ``automator check`` refuses, one line each
    find_image_scalars(path, d)  every image-shaped scalar, governed or not (checks, tests)
    find_flux_objects(files)     Flux ImagePolicy/ImageRepository/ImageUpdateAutomation objects

How users mark sites (workload annotations, ``# automator:`` markers, Flux v2
``$imagepolicy`` markers) is described in ``docs/manifests.md``.
"""

from automator.manifests.check import check_errors, check_report, policy_problem
from automator.manifests.editor import edit_file
from automator.manifests.fluxv2 import FluxObjects
from automator.manifests.scan import (
    ScanResult,
    find_flux_objects,
    find_image_scalars,
    is_manifest_path,
    scan_files,
)

__all__ = [
    "FluxObjects",
    "ScanResult",
    "check_errors",
    "check_report",
    "edit_file",
    "find_flux_objects",
    "find_image_scalars",
    "is_manifest_path",
    "policy_problem",
    "scan_files",
]

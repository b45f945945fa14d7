"""automator: a GitOps deployment automator.

It watches container registries for new image tags, picks the tag each workload's
policy allows, rewrites only the characters of the image fields that change, and
pushes a commit (or opens a pull request) to the config repo.
"""

__version__ = "0.1.0"

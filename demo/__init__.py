"""A self-contained demo: a real registry, a real Git remote, one automator run."""

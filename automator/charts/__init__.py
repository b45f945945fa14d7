"""Helm charts: classic chart repositories (``index.yaml`` over HTTP(S)).

index.py       ``read_index``: the charts of an index, streamed in bounded memory
repository.py  ``HelmRepositories``: fetch an index (basic auth, CA bundle), parsed as it
               arrives, cached by ETag / Last-Modified, so an unchanged index costs one 304
indexcache.py  ``IndexCache``: parsed indexes on disk as JSON lines, written atomically
catalog.py     ``ChartCatalog``: a chart's versions as candidates, the plan's ``Charts`` seam
"""

"""The sample config repository content: one Deployment that automator keeps on 1.4.x."""

from __future__ import annotations

# ``.format(image=...)``: the image repository without a tag
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    automator.dev/policy.api: "semver:~1.4"   # stay on 1.4.x
spec:
  template:
    spec:
      containers:
        - name: api
          image: {image}:1.4.2 # pinned by automator
          ports: [ {{ containerPort: 8080 }} ]
"""

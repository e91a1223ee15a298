"""Benchmarks against the fake API served over HTTP; ``python -m benchmarks`` (see BENCHMARKS.md).

Every row compares this project with a baseline measured in the same run: the upstream
client's habits (fixed 5 s poll, a token and a connection per call, catalog lookups per
resource) or the SDK's defaults (four server threads).
"""

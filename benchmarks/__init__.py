"""Benchmarks (``python -m benchmarks.NAME``): throwaway databases, so the public development SECRET_KEY
is fine here (it is refused anywhere else without DEBUG=1; see paperboy/secret_key.py). Set before any
settings load, and inherited by the workers and sinks the benchmarks start."""

import os

os.environ.setdefault("PAPERBOY_INSECURE_DEV_KEY", "1")

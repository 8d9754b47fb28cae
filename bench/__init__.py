"""Benchmarks that print figures (see bench/README.md)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def bench_module(name: str):
    """A bench script as a module. Loaded by path, not as `bench.<name>`, because each script also
    runs on its own (`python bench/warehouse.py`) and bench/warehouse.py must not shadow the
    `warehouse` package; one module object per script, shared by all callers."""
    key = f"bench_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[key]

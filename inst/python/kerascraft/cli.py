"""Command line: ``python -m kerascraft demo`` and ``python -m kerascraft check``."""

from __future__ import annotations

import argparse
import importlib
import sys

_STACK = ("numpy", "pandas", "sklearn", "keras", "keras_tuner")  # backend goes before keras


def check_environment(backend_module: str | None = None) -> dict:
    """Versions of the Python stack kerascraft needs, and what is missing.

    Returns:
        ``{"versions": {module: version}, "missing": [module, ...],
        "broken": {module: error}}``; the Keras backend's module (``tensorflow`` or ``jax``,
        from ``KERAS_BACKEND``) is checked too.
    """
    import os

    backend_module = backend_module or os.environ.get("KERAS_BACKEND", "tensorflow")
    versions, missing, broken = {}, [], {}
    for name in _STACK[:3] + (backend_module,) + _STACK[3:]:
        try:
            versions[name] = getattr(importlib.import_module(name), "__version__", "?")
        except ImportError as err:
            if getattr(err, "name", None) == name:
                missing.append(name)
            else:
                broken[name] = str(err)
        except Exception as err:  # a module that is there but fails to import
            broken[name] = f"{type(err).__name__}: {err}"
    return {"versions": versions, "missing": missing, "broken": broken}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kerascraft", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="tune a small net on digits, print best config and test accuracy")
    demo.add_argument("--kind", default="bayesian", choices=["random", "bayesian", "hyperband", "grid"])
    demo.add_argument("--max-trials", type=int, default=None, help="trial budget (default 6)")
    demo.add_argument("--epochs", type=int, default=20)
    demo.add_argument("--directory", default="kerascraft_demo")
    sub.add_parser("check", help="print the versions of the Python stack; exit 1 if a part is missing")
    sub.add_parser("version", help="print kerascraft's version")
    args = parser.parse_args(argv)

    if args.command == "version":
        from kerascraft import __version__

        print(__version__)
        return 0
    if args.command == "check":
        report = check_environment()
        for name, version in report["versions"].items():
            print(f"{name:12s} {version}")
        for name in report["missing"]:
            print(f"{name:12s} MISSING (pip install -r inst/python/requirements.txt, or make install)")
        for name, error in report["broken"].items():
            print(f"{name:12s} FAILS TO IMPORT: {error}")
        return 1 if report["missing"] or report["broken"] else 0
    from kerascraft.demo import craft_demo

    if args.kind == "hyperband" and args.max_trials is not None:
        print("hyperband sizes itself from --epochs; --max-trials is ignored", file=sys.stderr)
        args.max_trials = None
    craft_demo(kind=args.kind, max_trials=args.max_trials, epochs=args.epochs,
               directory=args.directory)
    return 0

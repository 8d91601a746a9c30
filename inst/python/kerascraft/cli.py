"""Command line: ``python -m kerascraft demo | check | version | distributed | chief | worker |
dashboard``."""

from __future__ import annotations

import argparse
import importlib

from kerascraft import REQUIRED_MODULES


def check_environment(backend_module: str | None = None) -> dict:
    """Versions of the Python stack kerascraft needs, and what is missing.

    Returns:
        ``{"versions": {module: version}, "missing": [module, ...],
        "broken": {module: error}, "private": [problem, ...]}``; the Keras backend's module
        (``tensorflow`` or ``jax``, from ``KERAS_BACKEND``) is checked too, and so are the
        private names kerascraft uses in every library that imports
        (:mod:`kerascraft.compat`).
    """
    import os

    backend_module = backend_module or os.environ.get("KERAS_BACKEND", "tensorflow")
    versions, missing, broken = {}, [], {}
    stack = list(REQUIRED_MODULES)
    stack.insert(stack.index("keras"), backend_module)
    for name in stack:
        try:
            versions[name] = getattr(importlib.import_module(name), "__version__", "?")
        except ImportError as err:
            if getattr(err, "name", None) == name:
                missing.append(name)
            else:
                broken[name] = str(err)
        except Exception as err:  # a module that is there but fails to import
            broken[name] = f"{type(err).__name__}: {err}"
    private = []
    if not missing and not broken:
        from kerascraft.compat import check_all

        private = [p for problems in check_all().values() for p in problems]
    return {"versions": versions, "missing": missing, "broken": broken, "private": private}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kerascraft", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="craft() on the bundled digits: tune, retrain, ensemble, "
                                       "test; print the summary and write the report")
    demo.add_argument("--kind", default="auto", help="tuner kind (default auto; see kerascraft.tuner)")
    demo.add_argument("--max-trials", type=int, default=10, help="trial budget (default 10)")
    demo.add_argument("--epochs", type=int, default=50, help="most epochs per model (default 50)")
    demo.add_argument("--top", type=int, default=3, help="configurations retrained (default 3)")
    demo.add_argument("--directory", default="kerascraft_demo")
    demo.add_argument("--resume", action="store_true",
                      help="continue in --directory instead of starting afresh")
    sub.add_parser("check", help="print the versions of the Python stack; exit 1 if a part is missing")
    sub.add_parser("version", help="print kerascraft's version")
    dist = sub.add_parser("distributed", help="run a search script with a chief and workers on this machine")
    dist.add_argument("script")
    dist.add_argument("--workers", type=int, default=2)
    dist.add_argument("--host", default="127.0.0.1", help="where the oracle listens (default 127.0.0.1)")
    dist.add_argument("--port", type=int, default=None)
    dist.add_argument("--max-retries", type=int, default=1,
                      help="runs of a trial whose worker died, before it is recorded as failed")
    dist.add_argument("--trials-per-process", type=int, default=None,
                      help="a fresh worker process after this many trials (flat memory on TensorFlow)")
    dist.add_argument("--storage", default=None,
                      help="share the search through this database URL or journal file "
                           "(no chief; the Optuna tuner kinds)")
    board = sub.add_parser("dashboard", help="serve optuna-dashboard for the storage in "
                                             "KERASCRAFT_STORAGE (kerascraft.dashboard() starts it)")
    board.add_argument("--host", default="127.0.0.1")
    board.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    for role in ("chief", "worker"):
        p = sub.add_parser(role, help=f"run a search script as the {role} of a distributed search")
        p.add_argument("script")
        if role == "chief":
            p.add_argument("--oracle", required=True, help="HOST:PORT of the chief's oracle")
        else:
            p.add_argument("--oracle", default=None, help="HOST:PORT of the chief's oracle")
            p.add_argument("--storage", default=None,
                           help="the shared search's database URL or journal file (default: "
                                "$KERASCRAFT_STORAGE; keeps a password off the command line)")
            p.add_argument("--id", default=None,
                           help="this worker's name (unique, without 'chief'; default with "
                                "--storage: host-pid)")
    return parser


def main(argv=None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in ("distributed", "chief", "worker"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    command = {"version": _version, "distributed": _distributed, "chief": _role,
               "worker": _role, "check": _check, "demo": _demo,
               "dashboard": _dashboard}[args.command]
    return command(args, rest, parser)


def _version(args, rest, parser) -> int:
    from kerascraft import __version__

    print(__version__)
    return 0


def _distributed(args, rest, parser) -> int:
    from kerascraft.distributed import search_distributed

    out = search_distributed(args.script, workers=args.workers, host=args.host,
                             port=args.port, max_retries=args.max_retries,
                             trials_per_process=args.trials_per_process, argv=rest,
                             storage=args.storage)
    return 0 if out["chief_exit"] in (0, "stopped", None) else 1


def _role(args, rest, parser) -> int:
    import os

    from kerascraft.distributed import run_as, worker_name
    from kerascraft.storages import STORAGE_ENV

    storage = getattr(args, "storage", None)
    if args.command == "worker" and args.oracle is None:
        storage = storage or os.environ.get(STORAGE_ENV)
        if not storage:
            parser.error(f"a worker needs --storage URL (or {STORAGE_ENV}) for a shared "
                         "search, or --oracle HOST:PORT and --id for KerasTuner's chief")
        run_as(args.script, args.id or worker_name(), argv=rest, storage=storage)
        return 0
    if storage:
        parser.error("give --storage or --oracle, not both")
    if args.command == "worker" and not args.id:
        parser.error("a worker of KerasTuner's chief needs --id NAME")
    host, _, port = args.oracle.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--oracle must be HOST:PORT, got {args.oracle!r}")
    tuner_id = "chief" if args.command == "chief" else args.id
    if args.command == "worker" and "chief" in tuner_id:
        parser.error("a worker's --id must not contain 'chief' (KerasTuner reads that as the chief)")
    run_as(args.script, tuner_id, host, int(port), rest)
    return 0


def _check(args, rest, parser) -> int:
    report = check_environment()
    for name, version in report["versions"].items():
        print(f"{name:12s} {version}")
    for name in report["missing"]:
        print(f"{name:12s} MISSING (pip install kerascraft[tensorflow] or [jax], or make install)")
    for name, error in report["broken"].items():
        print(f"{name:12s} FAILS TO IMPORT: {error}")
    for problem in report["private"]:
        print(f"PRIVATE NAME: {problem}")
    return 1 if report["missing"] or report["broken"] or report["private"] else 0


def _demo(args, rest, parser) -> int:
    from kerascraft.demo import craft_demo

    craft_demo(kind=args.kind, max_trials=args.max_trials, epochs=args.epochs, top=args.top,
               directory=args.directory, overwrite=not args.resume)
    return 0


def _dashboard(args, rest, parser) -> int:
    from kerascraft.dashboards import serve

    serve(args.host, args.port)
    return 0

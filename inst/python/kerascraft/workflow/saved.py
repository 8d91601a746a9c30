"""A craft() result kept in its directory and read back anywhere: :func:`load_craft`.

craft() writes ``result.json`` last: the tables, the choices and which file holds each
final model (the networks' ``.keras`` files, the trees' and the cheap models' pickles, a
table's columns in ``columns.json``, the ensemble in ``ensemble.json``). :func:`load_craft`
rebuilds a :class:`~kerascraft.workflow.CraftResult` from them in a fresh session, whose
``predict()`` gives what the original did and whose report is the original's. The search
is read back from its trials (for the summary and the search plot); its models are not
rebuilt, so the build function need not exist in the new session.
"""

from __future__ import annotations

import os

from kerascraft.errors import InputError

RESULT = "result.json"
#: the version of result.json's layout
LAYOUT = 1


def keep(run, result) -> None:
    """Write ``result.json`` for ``result`` (craft()'s last step)."""
    # a network the time limit left unretrained is the search's model, kept beside them
    ids = {f"net_{row['rank']}": ("" if row.get("epochs") is not None else "search_")
           + f"trial_{row['trial_id']}" for row in run.retrained.summary}
    objective = run.tuner.oracle.objective
    run.store.write_json(RESULT, {
        "layout": LAYOUT, "task": result.task, "classes": result.classes,
        "setup": result.setup, "sizes": result.sizes, "objective": result.objective,
        "direction": getattr(objective, "direction", None),
        "search": {"kind": run.config.kind, "seed": run.config.seed,
                   "trials": len(result.trials), "epochs": run.config.epochs},
        "tables": {name: _columns(frame) for name, frame in result.frames().items()
                   if name not in ("timings", "families", "columns")},
        "lead": result.lead, "timings": result.timings, "reused": result.reused,
        "seconds": result.seconds,
        "members": {name: ({"file": f"retrained/{ids[name]}.keras"} if name in ids
                           else {"file": "gradient_boosting.pkl" if name == "gbt"
                                 else "cheap_models.pkl"})
                    for name in result.models},
        "table": "columns.json" if result.table is not None else None})


def _columns(frame) -> dict:
    return {"columns": [str(c) for c in frame.columns],
            "rows": [[_plain(v) for v in row] for row in frame.itertuples(index=False)]}


def _plain(v):
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v


def _frame(d):
    import pandas as pd

    return pd.DataFrame(d["rows"], columns=d["columns"])


def load_craft(directory: str):
    """The result of a finished :func:`kerascraft.craft` run, read from its ``directory``.

    Works in a fresh session, on another machine with the same packages: predictions on
    new rows (raw columns, for a table) equal the original's; ``print()``, ``report()``
    and the tables are the original's.

    Raises:
        InputError: no finished craft() run in ``directory`` (and what is there instead),
            or one of its files is missing.
    """
    import keras

    from kerascraft.ensemble import load_ensemble
    from kerascraft.tables import Table
    from kerascraft.workflow.result import CraftResult
    from kerascraft.workflow.store import MANIFEST, Store

    directory = os.fspath(directory)
    path = os.path.join(directory, RESULT)
    if not os.path.exists(path):
        what = ("a craft() run that has not finished (call craft() again with the same data "
                "to finish it)" if os.path.exists(os.path.join(directory, MANIFEST))
                else "no craft() run")
        raise InputError(f"{directory!r} holds {what}: there is no {RESULT} to load.")
    store = Store.existing(directory)
    saved = store.read_json(RESULT)
    if saved is None or saved.get("layout") != LAYOUT:
        raise InputError(f"{path} could not be read as a craft() result of this kerascraft "
                         f"(layout {saved.get('layout') if saved else None!r}).")

    def need(name):
        p = store.path(name)
        if not os.path.exists(p):
            raise InputError(f"{directory!r} lacks {name}, which the result needs. Was the "
                             "directory copied in part?")
        return p

    import kerascraft.layers  # noqa: F401 - registers the layers craft()'s networks hold

    pickles, models = {}, {}
    for name, member in saved["members"].items():
        file = member["file"]
        if file.endswith(".keras"):
            models[name] = keras.saving.load_model(need(file))
        else:
            if file not in pickles:
                need(file)
                pickles[file] = store.read_pickle(file)
            final = pickles[file]["final"]
            models[name] = final if name == "gbt" else final[name]
    table = None
    if saved["table"]:
        need(saved["table"])
        table = Table.from_dict(store.read_json(saved["table"]))
    tables = {name: _frame(d) for name, d in saved["tables"].items()}
    return CraftResult(
        directory=directory, task=saved["task"], classes=saved["classes"],
        setup=saved["setup"], sizes=saved["sizes"], objective=saved["objective"],
        trials=tables["trials"], retrained=tables["retrained"], weights=tables["weights"],
        test_scores=tables["test_scores"], gaps=tables["gaps"], lead=saved["lead"],
        timings=saved["timings"], reused=saved["reused"],
        ensemble=load_ensemble(need("ensemble.json")), models=models, search_models={},
        tuner=_search(directory, saved), seconds=saved["seconds"], table=table)


def _search(directory, saved):
    """The search, read back from its trials (its models are not rebuilt)."""
    import contextlib
    import io

    import keras_tuner as kt

    from kerascraft import tuning

    def not_rebuilt(hp):
        raise InputError("a search read back by load_craft() does not rebuild models; call "
                         "craft() with the build function to search further.")

    s = saved["search"]
    objective = (kt.Objective(saved["objective"], saved["direction"]) if saved["direction"]
                 else saved["objective"])
    size = ({"max_epochs": s["epochs"]} if s["kind"] == "hyperband"
            else {"max_trials": max(1, s["trials"])})
    with contextlib.redirect_stdout(io.StringIO()):  # KerasTuner's "Reloading Tuner from"
        return tuning.tuner(s["kind"], not_rebuilt, objective=objective, directory=directory,
                            project_name="search", overwrite=False, seed=s["seed"], **size)

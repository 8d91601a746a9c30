"""What craft() returns: :class:`CraftResult`, whose tables come from one method
(:meth:`CraftResult.frames`) that the summary, the HTML report and R all read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kerascraft.ensemble.analysis import lead_statement
from kerascraft.ensemble.metrics import format_score
from kerascraft.workflow.inputs import features, plain


@dataclass
class CraftResult:
    """What :func:`kerascraft.craft` made: tables, models, the ensemble, and the choices it
    took.

    Attributes:
        directory: where every stage's work is kept.
        task: ``"classification"`` or ``"regression"``; ``classes``: the class labels.
        setup: precision policy, strategy, steps per execution, and why each.
        sizes: samples in the train, validation and test splits.
        objective: the name of what the search optimised.
        trials: every trial of the search (:func:`kerascraft.results`).
        retrained: one row per retrained configuration.
        weights: one row per ensemble member (:meth:`Ensemble.models`).
        test_scores: ensemble, plain mean and every member on the test split.
        gaps: per member, validation score against test score (before and after
            retraining on train+validation).
        lead: the ensemble against the best single model on the test split
            (:func:`kerascraft.ensemble.analysis.compare_on_test`): each one's headline
            metric and loss, and the ensemble's lead in loss with a bootstrap interval.
        timings: seconds per stage; ``reused``: the stages found done.
        ensemble: the :class:`~kerascraft.ensemble.Ensemble`; ``models``: name -> the
            final model (trained on train+validation); ``search_models``: name -> its
            version trained on the training split; ``tuner``: the search.
        seconds: how long the call took.
        table: for a table, its columns (:class:`kerascraft.tables.Table`): how each was
            read and encoded; new rows are checked against it.
        time_limit: the call's ``time_limit`` (seconds; ``None``: none); ``cut``: stage ->
            what the limit left out of it (trials not run, models not retrained), or where
            ``stop_early`` ended the search.
    """

    directory: str
    task: str
    classes: list | None
    setup: dict
    sizes: dict
    objective: str
    trials: Any
    retrained: Any
    weights: Any
    test_scores: Any
    gaps: Any
    lead: dict
    timings: dict
    reused: list
    ensemble: Any
    models: dict
    search_models: dict
    tuner: Any
    seconds: float
    table: Any = None
    time_limit: float | None = None
    cut: dict = None

    TABLES = ("trials", "retrained", "weights", "test_scores", "gaps", "timings", "families",
              "columns")
    #: each family of members: the stages that trained it, and what its members are called
    FAMILIES = (("networks", ("search", "retrain")), ("gradient-boosted trees",
                                                     ("gradient_boosting",)),
                ("cheap models", ("cheap_models",)))

    # -- the tables, made in one place
    def frames(self) -> dict:
        """Every table as a pandas DataFrame, by name (:attr:`TABLES`)."""
        import pandas as pd

        timings = pd.DataFrame([{"stage": k, "seconds": v, "reused": k in self.reused}
                                for k, v in self.timings.items()])
        columns = (self.table.frame() if self.table is not None else pd.DataFrame(
            columns=["column", "kind", "missing", "network", "cheap models", "trees"]))
        return {"trials": self.trials, "retrained": self.retrained, "weights": self.weights,
                "test_scores": self.test_scores, "gaps": self.gaps, "timings": timings,
                "families": pd.DataFrame(self.families(),
                                         columns=["family", "members", "seconds",
                                                  "share_of_time", "weight"]),
                "columns": columns}

    def family_of(self, member: str) -> str:
        """``"networks"``, ``"gradient-boosted trees"`` or ``"cheap models"``."""
        if member in set(self.retrained["model"]):
            return "networks"
        return "gradient-boosted trees" if member == "gbt" else "cheap models"

    def families(self) -> list[dict]:
        """Time against weight: for each family of members, the seconds of the stages that
        trained it (the search and retraining for the networks), its share of the
        training stages' time, and the ensemble weight its members earned together."""
        trained = {stage: self.timings.get(stage, 0.0)
                   for _, stages in self.FAMILIES for stage in stages}
        total = sum(trained.values()) or 1.0
        rows = []
        for family, stages in self.FAMILIES:
            members = [n for n in self.models if self.family_of(n) == family]
            if not members:
                continue
            seconds = sum(trained[s] for s in stages)
            rows.append({"family": family, "members": ", ".join(members), "seconds": seconds,
                         "share_of_time": seconds / total,
                         "weight": float(sum(self.ensemble.weights.get(n, 0.0)
                                             for n in members))})
        return rows

    def family_line(self) -> str:
        """The families' time and weight in one line of the summary."""
        return "  time and weight by family: " + "; ".join(
            f"{r['family']} {r['seconds']:.0f} s ({r['share_of_time']:.0%}), weight "
            f"{r['weight']:.2f}" for r in self.families())

    def tables(self) -> dict:
        """Every table as ``{name: {column: list}}`` (R makes data frames of them)."""
        return {name: {c: [plain(v) if v == v else None for v in frame[c]]
                       for c in frame.columns}
                for name, frame in self.frames().items()}

    # -- the headline numbers
    @property
    def test_metric(self) -> str:
        return "accuracy" if self.task == "classification" else "mse"

    def _score(self, column, value):
        t = self.test_scores
        return float(t[t[column] == value].iloc[0][self.test_metric])

    def headline(self) -> dict:
        """The ensemble's and the best single model's test scores (the best single model
        chosen on validation, as one would have to without the test set)."""
        best = self.ensemble.scores["best_single_model"]
        return {"metric": self.test_metric, "ensemble": self._score("kind", "ensemble"),
                "best_single_model": best, "best_single": self._score("model", best)}

    def summary(self) -> str:
        h, s = self.headline(), self.setup
        classes = f", {len(self.classes)} classes" if self.classes else ""
        from kerascraft.trials import TrialStatus, best_trials

        done = self.trials[self.trials["status"] == TrialStatus.COMPLETED.value]
        best = best_trials(self.tuner, 1)[0].score
        used = ", ".join(f"{n} {w:.2f}" for n, w in self.ensemble.weights.items() if w > 0)
        reused = f" (reused: {', '.join(self.reused)})" if self.reused else ""
        return "\n".join([
            f"kerascraft craft() -- {self.task}{classes}, {self.sizes['train']} train / "
            f"{self.sizes['validation']} validation / {self.sizes['test']} test samples",
            f"  precision: {s['precision']} ({s['precision_reason']})",
            f"  strategy: {s['strategy']} ({s['strategy_reason']})",
            f"  steps per execution: {s['steps_per_execution']} ({s['steps_reason']})",
            *([f"  columns: {self.table.describe()}"] if self.table is not None else []),
            f"  search: {len(done)} of {len(self.trials)} trials completed, best "
            f"{self.objective} {best:.4g}",
            *([f"  {self.record_line()}"] if self.record_line() else []),
            f"  retrained {len(self.retrained)} best configurations on train+validation"
            + self._others(),
            f"  ensemble weights ({self.ensemble.method}): {used}",
            self.family_line(),
            *self.comparison_lines(),
            *self.time_lines(reused)])

    def record_line(self) -> str | None:
        """Where the search's record is kept when craft() was given ``storage`` (its
        password masked), and how to watch it; ``None`` otherwise."""
        oracle = getattr(self.tuner, "oracle", None)
        if not getattr(oracle, "shared", False):
            return None
        return (f"search record: {oracle.storage_description()}, study "
                f"{oracle.study_name!r} (dashboard() shows it live in optuna-dashboard)")

    def time_lines(self, reused="") -> list:
        """The seconds each stage took; with a time limit, the limit, the rule that shared
        it and what it cut."""
        stages = ", ".join(f"{k} {v:.0f}" for k, v in self.timings.items())
        cut = [f"  {stage}: {what}" for stage, what in (self.cut or {}).items()]
        if self.time_limit is None:
            return [f"  {self.seconds:.0f} s{reused} ({stages})", *cut]
        from kerascraft.workflow.stages import TIME_RULE

        return [f"  {self.seconds:.0f} s of time_limit={self.time_limit:g} s{reused} "
                f"({stages}); shared by the rule: {TIME_RULE}", *cut]

    def _others(self) -> str:
        """The members beside the networks, for the summary."""
        nets = set(self.retrained["model"])
        others = [n for n in self.models if n not in nets and n != "gbt"]
        named = ["gradient-boosted trees"] if "gbt" in self.models else []
        if others:
            named.append(f"cheap models ({', '.join(others)})")
        return ", plus " + ", ".join(named) if named else ""

    def comparison_lines(self) -> list:
        """The ensemble against the best single model on the test split: the headline
        metric with the samples behind it, the loss, and one sentence on the lead."""
        h, c = self.headline(), self.lead
        m, best = h["metric"], h["best_single_model"]
        first = (f"  test {m}: ensemble {format_score(m, h['ensemble'])}, best single model "
                 f"({best}, chosen on validation) {format_score(m, h['best_single'])}")
        if not c:  # a result made before the comparison existed
            return [first]
        if c["metric"] == "accuracy":
            first += (f" ({c['ensemble_right']} and {c['single_right']} of {c['n']} right; "
                      f"they differ on {c['differ']})")
        loss = "log loss" if c["loss"] == "log_loss" else "squared error"
        return [first,
                f"  test {loss}: ensemble {c['ensemble_loss']:.4g}, {best} {c['single_loss']:.4g}",
                f"  {lead_statement(c, best)}"]

    def __repr__(self):
        return self.summary()

    def predict(self, x):
        """The ensemble's predictions for new data (class probabilities, or values). For a
        table: a data frame with the training columns, by name in any order
        (:meth:`kerascraft.tables.Table.conform` says what it checks)."""
        models = {n: m for n, m in self.models.items() if self.ensemble.weights.get(n, 0) > 0}
        if self.table is None:
            return self.ensemble.predict(member_predictions(models, features(x, "x")))
        rows = self.table.conform(x, "newdata")
        encoded = {}

        def inputs(kind):
            kind = self.table.matrix(kind)
            if kind not in encoded:
                encoded[kind] = self.table.encode(rows, kind)
            return encoded[kind]

        return self.ensemble.predict(member_predictions(models, inputs))

    def report(self, path="report.html"):
        """Write the HTML report (see :func:`kerascraft.report`); returns its path."""
        from kerascraft.reporting import report

        return report(self, path)


def flat(x):
    """Samples as rows of numbers (images flattened), as trees take them."""
    return x.reshape(len(x), -1)


def family(name, model) -> str:
    """The inputs a member of craft() takes: ``"network"``, ``"trees"`` (the gradient-boosted
    trees, ``gbt``) or ``"cheap"`` (the cheap models)."""
    from kerascraft.ensemble.members import is_keras_model

    return "network" if is_keras_model(model) else "trees" if name == "gbt" else "cheap"


def member_predictions(models, x):
    """Each member's predictions: ``x`` is the data (the networks see it, the scikit-learn
    models flat rows) or a function of the family (:func:`family`) giving its inputs."""
    from kerascraft.ensemble import predictions

    inputs = x if callable(x) else (lambda f: x if f == "network" else flat(x))
    out = {}
    for kind in ("network", "trees", "cheap"):
        members = {n: m for n, m in models.items() if family(n, m) == kind}
        if members:
            out.update(predictions(members, inputs(kind)))
    return {n: out[n] for n in models}  # in the members' order


def gaps(ens, y_val, y_test, val_pred, test_pred_train_only, test_pred):
    """Per member: its validation score, the test score of the same model and of its
    retrained version, each metric of :meth:`Ensemble.evaluate`. ``gap``: validation minus
    test in the direction of better (positive: the validation score flattered)."""
    import pandas as pd

    from kerascraft.ensemble import CLASSIFICATION_METRICS, REGRESSION_METRICS

    directions = {**CLASSIFICATION_METRICS, **REGRESSION_METRICS}

    def singles(y, preds):
        table = ens.evaluate(y, preds)
        return table[table["kind"] == "single"].set_index("model")

    val, test, retrained = (singles(y_val, val_pred), singles(y_test, test_pred_train_only),
                            singles(y_test, test_pred))
    metrics = [c for c in val.columns if c not in ("kind", "weight")]
    rows = []
    for name in val_pred:
        row = {"model": name}
        for m in metrics:
            sign = -directions[m].loss_sign  # positive: validation flattered
            row[f"validation_{m}"] = val.loc[name, m]
            row[f"test_{m}"] = test.loc[name, m]
            row[f"gap_{m}"] = sign * (val.loc[name, m] - test.loc[name, m])
            row[f"test_{m}_retrained"] = retrained.loc[name, m]
        rows.append(row)
    return pd.DataFrame(rows)

"""craft()'s task rule (kerascraft.task.decide_task) on real targets it was not chosen on.

    python bench/task.py

The rule was written against one table (ggplot2's highway mileage, which the old rule of
"at most 30 distinct whole numbers" made a 27-class problem). Here it reads targets from R's
datasets, ggplot2 and scikit-learn whose role the data's documentation states: a
measurement or a count (numbers) or a code of a group (classes). Each is shown with the
rule's choice and reason, the old rule's, and the role expected; at the end how often each
rule agrees. Needs R with ggplot2 (Debian's r-cran-ggplot2), nothing beyond `make install`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "inst", "python"))

import numpy as np  # noqa: E402

from kerascraft.task import MAX_AUTO_CLASSES, decide_task  # noqa: E402

N, C = "regression", "classification"
#: (R expression of a vector, or "sklearn:<loader>", the role expected, what it is)
TARGETS = [
    ("na.omit(airquality)$Ozone", N, "ozone, parts per billion"),
    ("faithful$waiting", N, "minutes between eruptions"),
    ("warpbreaks$breaks", N, "breaks per loom (a count)"),
    ("InsectSprays$count", N, "insects per plot (a count)"),
    ("quakes$stations", N, "stations that reported a quake (a count)"),
    ("quakes$depth", N, "depth in km"),
    ("chickwts$weight", N, "chick weight, g"),
    ("ChickWeight$weight", N, "chick weight, g"),
    ("mtcars$hp", N, "horsepower"),
    ("cars$dist", N, "stopping distance, ft"),
    ("cars$speed", N, "speed, mph"),
    ("rivers", N, "river length, miles"),
    ("esoph$ncases", N, "cancer cases per group (a count)"),
    ("ggplot2::mpg$cty", N, "city miles per gallon"),
    ("ggplot2::diamonds$price", N, "price, US dollars"),
    ("ggplot2::economics$unemploy", N, "unemployed, thousands"),
    ("sklearn:load_diabetes", N, "disease progression score"),
    ("mtcars$cyl", C, "cylinders: 4, 6, 8"),
    ("mtcars$gear", C, "forward gears: 3, 4, 5"),
    ("mtcars$am", C, "transmission: 0 automatic, 1 manual"),
    ("mtcars$vs", C, "engine: 0 V-shaped, 1 straight"),
    ("ggplot2::mpg$year", C, "model year: 1999 or 2008"),
    ("ggplot2::mpg$cyl", C, "cylinders: 4, 5, 6, 8"),
    ("as.integer(ggplot2::diamonds$cut)", C, "cut, 5 grades as codes"),
    ("as.integer(esoph$agegp)", C, "age group, 6 codes"),
    ("infert$case", C, "case or control: 1, 0"),
    ("na.omit(airquality)$Month", C, "month of the measurement: 5-9"),
    ("ToothGrowth$dose", C, "dose group: 0.5, 1, 2 mg"),
    ("sklearn:load_digits", C, "digit 0-9"),
    ("sklearn:load_wine", C, "cultivar 0-2"),
    ("sklearn:load_breast_cancer", C, "malignant or benign"),
]


def values(expr):
    if expr.startswith("sklearn:"):
        import sklearn.datasets

        return getattr(sklearn.datasets, expr.split(":")[1])().target
    path = os.path.join(tempfile.mkdtemp(), "y.txt")
    subprocess.run(["Rscript", "-e", f"writeLines(format(as.numeric({expr}), digits = 15), {path!r})"],
                   check=True, capture_output=True)
    return np.loadtxt(path)


def old_rule(y):
    """The rule before 2026-12-06: whole numbers with at most 30 distinct values are classes."""
    whole = bool(np.all(np.mod(y, 1) == 0))
    return C if whole and len(np.unique(y)) <= MAX_AUTO_CLASSES else N


def main():
    agree = {"rule": 0, "old": 0}
    print("| target | rows | distinct | expected | the rule (why) | old rule |")
    print("|---|---:|---:|---|---|---|")
    for expr, expected, what in TARGETS:
        y = values(expr)
        choice, old = decide_task(y), old_rule(y)
        agree["rule"] += choice.task == expected
        agree["old"] += old == expected
        mark = lambda t: t if t == expected else f"**{t}**"  # noqa: E731
        print(f"| `{expr}` ({what}) | {len(y)} | {len(np.unique(y))} | {expected} | "
              f"{mark(choice.task)} ({choice.reason.split(';')[0]}) | {mark(old)} |")
    n = len(TARGETS)
    print(f"\nthe rule agrees with the expected role on {agree['rule']} of {n} targets; "
          f"the old rule on {agree['old']} (choices that differ from it in bold)")


if __name__ == "__main__":
    main()

"""Users' tables as they come: each column read once by its kind, encoded for each model
family from statistics of the training rows only, and new rows checked against it.

A :class:`Table` is made in two steps. :func:`read_table` decides what every column is
(from its type and content) and refuses, in one message, every column it cannot take;
:meth:`Table.fit` then learns the encodings from the training split alone (medians and
quartiles, category levels, the date reference, the text vocabulary), so no statistic comes
from validation or test rows. :meth:`Table.encode` gives each model family its own matrix:

============  ==================================================================
family        what it receives
============  ==================================================================
``network``   numbers scaled robustly (median, quartiles) with smooth clipping, a
              missing-value flag where training had missing values; categories
              one-hot over their :data:`MAX_ONE_HOT` most frequent levels plus one
              slot for other, unseen and missing levels, or, in craft()'s own
              networks, those of more than :data:`EMBED_LEVELS` levels as the code
              a trained embedding looks up (:meth:`Table.embeddings`); ordered
              categories also as their rank; dates as year, cyclic month, day of
              week and day of year (and hour) and days since the training rows'
              first date; text as a tf-idf vocabulary of words and word pairs
``cheap``     the same, every category one-hot (a linear model, k-NN and extra
              trees take one-hot and filled columns)
``trees``     numbers and dates' parts as they are, missing values left missing
              (the trees' own handling); categories as codes declared
              categorical (no one-hot); ordered categories as their rank; text as
              the same tf-idf columns
============  ==================================================================

A fitted table is plain data (:meth:`Table.to_dict`), kept as JSON beside the models, so a
result reloads anywhere the same packages are installed.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field

import numpy as np

from kerascraft.data import is_data_frame as is_frame
from kerascraft.errors import InputError, InputTypeError

log = logging.getLogger("kerascraft.tables")

#: column kinds, in the order the progress line names them
KINDS = ("number", "boolean", "category", "ordered", "date", "text")
_WORDS = {"number": ("number", "numbers"), "boolean": ("yes/no column", "yes/no columns"),
          "category": ("category", "categories"),
          "ordered": ("ordered category", "ordered categories"), "date": ("date", "dates"),
          "text": ("text column", "text columns")}
FAMILIES = ("network", "trees", "cheap")
#: the kinds whose values are strings (an exported network takes them as string inputs)
STRING_KINDS = ("category", "ordered", "text")
#: levels one-hot encoded for the networks and the cheap models (the most frequent; the
#: rest share the "other" slot with levels never seen in training)
MAX_ONE_HOT = 32
#: a level needs this many training rows to get its own slot
MIN_LEVEL_ROWS = 2
#: a category with more levels than this (each of MIN_LEVEL_ROWS rows or more) gets a
#: trained embedding in craft()'s own networks instead of the one-hot columns; measured with
#: bench/raw.py --embed (BENCHMARKS.md, "Categories of many levels")
EMBED_LEVELS = 8
#: levels an embedding holds at most (the most frequent; the rest share slot 0)
MAX_EMBED_LEVELS = 10_000
#: levels the trees see as categories (scikit-learn's histogram trees take at most 255
#: bins, one of them for missing values); the rest share one code
MAX_TREE_LEVELS = 250
#: words and word pairs kept per text column
TEXT_VOCABULARY = 100
#: a text column of values this many words long (median) is free text, not categories
TEXT_WORDS = 3
#: at least this many rows before a column unique to every row counts as an identifier
ID_MIN_ROWS = 20
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DAY_SECONDS = 86400.0


def needs_table(x) -> bool:
    """Whether craft() reads ``x`` as a table: a data frame with any column that is not
    plain numbers or with any missing value. Frames of complete numbers are matrices, as
    they were before tables were read (their models and predictions unchanged)."""
    if not is_frame(x):
        return False
    from pandas.api import types

    for _, col in x.items():
        dtype = col.dtype
        plain = (types.is_numeric_dtype(dtype) or types.is_bool_dtype(dtype)) and not (
            types.is_complex_dtype(dtype)) and not hasattr(dtype, "categories")
        if not plain or col.isna().any():
            return True
    return False


# -- reading: what each column is -----------------------------------------------------

@dataclass
class Column:
    """One column: its kind, and once fitted, the statistics of the training rows."""

    name: str
    kind: str
    how: str = ""  # how it was read, when not by its type alone
    missing: float = 0.0  # share of missing values in the training rows
    stats: dict = field(default_factory=dict)


def _label(v) -> str:
    """A category's value as the text every encoding compares (1 and 1.0 are "1")."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _is_nested(v) -> bool:
    return isinstance(v, (list, tuple, dict, set, np.ndarray))


def column_kind(col) -> tuple:
    """``(kind, how, problem)`` of a pandas column: its :data:`KINDS` entry (None when it
    cannot be read), a note on how it was read, and what is wrong with it."""
    import pandas as pd
    from pandas.api import types

    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return ("ordered" if dtype.ordered else "category"), "", None
    if types.is_bool_dtype(dtype):
        return "boolean", "", None
    if types.is_complex_dtype(dtype):
        return None, "", "complex numbers"
    if types.is_numeric_dtype(dtype):
        return "number", "", None
    if types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return "date", "", None
    if types.is_timedelta64_dtype(dtype):
        return "number", "durations in seconds", None
    if dtype == object or types.is_string_dtype(dtype):
        values = col.dropna()
        if len(values) == 0:
            return "number", "no values", None
        if dtype == object and any(_is_nested(v) for v in values):
            return None, "", "lists or other nested values (one value per cell is needed)"
        inferred = types.infer_dtype(values, skipna=True)
        if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
            return "number", "numbers held as objects", None
        if inferred == "boolean":
            return "boolean", "", None
        if inferred in ("date", "datetime", "datetime64"):
            return "date", "", None
        text = values.astype(str)
        sample = text.iloc[:2000]
        if pd.to_numeric(sample, errors="coerce").notna().all():
            return "number", "numbers written as text", None
        if sample.str.match(_ISO_DATE).all():
            return "date", "dates written as text (ISO 8601)", None
        words = float(np.median(sample.str.split().str.len().fillna(0)))
        if words >= TEXT_WORDS and text.nunique() > ID_MIN_ROWS:
            return "text", "", None
        return "category", "text with repeated values", None
    return None, "", f"values of type {dtype}"


def read_table(frame, name: str = "x") -> "Table":
    """Decide every column's kind; drop columns that are no use (all missing, one value,
    an identifier: a value unique to every row), each with a note; refuse, in one message,
    every column that cannot be read.

    Raises:
        InputTypeError: columns of lists, nested values or types kerascraft cannot read,
            all named with their problem.
        InputError: no usable column left, or column names repeated.
    """
    names = [str(c) for c in frame.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"{name} has columns of the same name: {', '.join(repeated)}. "
                         "Give every column its own name.")
    columns, dropped, problems = [], {}, {}
    for col_name, (_, col) in zip(names, frame.items()):
        kind, how, problem = column_kind(col)
        if problem:
            problems[col_name] = problem
            continue
        n_missing = int(col.isna().sum())
        present = len(col) - n_missing
        if present == 0:
            dropped[col_name] = "all values missing"
            continue
        distinct = int(col.nunique(dropna=True))  # nested (unhashable) values refused above
        if distinct <= 1 and n_missing == 0:
            dropped[col_name] = "one value in every row"
            continue
        if kind == "category" and distinct == present and present >= ID_MIN_ROWS:
            dropped[col_name] = "a different value in every row (an identifier)"
            continue
        columns.append(Column(col_name, kind, how))
    if problems:
        listed = "; ".join(f"{c}: {p}" for c, p in problems.items())
        raise InputTypeError(
            f"{name} has {len(problems)} column(s) kerascraft cannot read: {listed}. "
            "Drop them, or turn each into numbers, categories, dates or text.")
    if not columns:
        why = "; ".join(f"{c}: {r}" for c, r in dropped.items())
        raise InputError(f"{name} has no column a model can learn from ({why}).")
    return Table(columns, dropped)


# -- the table: fitted statistics, encodings, new rows ----------------------------------

class Table:
    """The columns of a table, how each is read, and (once :meth:`fit`) how each is encoded
    for every model family."""

    def __init__(self, columns, dropped=None, fitted=False, target=None):
        self.columns = list(columns)
        self.dropped = dict(dropped or {})
        self.fitted = fitted
        self.target = target  # the target's column, when it was named in the table

    # reading
    @property
    def names(self) -> list:
        return [c.name for c in self.columns]

    def describe(self) -> str:
        """One line of how the columns were read: ``3 categories (cut, color, clarity),
        6 numbers, ...`` (names listed up to eight per kind)."""
        parts = []
        for kind in KINDS:
            named = [c.name for c in self.columns if c.kind == kind]
            if named:
                shown = ", ".join(named[:8]) + (f", ... ({len(named) - 8} more)"
                                                 if len(named) > 8 else "")
                word = _WORDS[kind][len(named) > 1]
                parts.append(f"{len(named)} {word} ({shown})")
        return ", ".join(parts)

    def notes(self) -> list:
        """The columns left out, and columns read in a way their type does not say."""
        out = [f"column {c} left out: {why}" for c, why in self.dropped.items()]
        out += [f"column {c.name} read as {c.kind}: {c.how}" for c in self.columns
                if c.how and c.how != "no values"]
        return out

    # fitting
    def fit(self, frame, embed: bool = False) -> "Table":
        """Learn every column's encoding from ``frame`` (the training rows only). ``embed``:
        the networks are craft()'s own, which embed categories of more than
        :data:`EMBED_LEVELS` levels (:meth:`embeddings`); other networks get them one-hot."""
        for c in self.columns:
            col = frame[c.name]
            c.missing = float(col.isna().mean())
            c.stats = _FIT[c.kind](_values(col, c.kind), c)
            if c.kind == "ordered" and hasattr(col.dtype, "categories"):
                c.stats["rank"] = [_label(v) for v in col.dtype.categories]  # declared order
            if embed and c.kind in ("category", "ordered") and c.stats["kept"] > EMBED_LEVELS:
                c.stats["embed"] = c.stats["levels"][:min(c.stats["kept"], MAX_EMBED_LEVELS)]
        self.fitted = True
        return self

    # encoding
    def encode(self, frame, family: str) -> np.ndarray:
        """The matrix ``family`` (:data:`FAMILIES`) is trained on or predicts from:
        float32 for the networks and the cheap models (no missing values), float64 with
        missing values left as NaN for the trees."""
        if not self.fitted:
            raise RuntimeError("Table.encode() before fit()")
        if family not in FAMILIES:
            raise InputError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}.")
        blocks = [_encoder(c, family)(_values(frame[c.name], c.kind), c) for c in self.columns]
        out = np.column_stack(blocks) if blocks else np.empty((len(frame), 0))
        return out.astype(np.float64 if family == "trees" else np.float32)

    def matrix(self, family: str) -> str:
        """The family whose matrix ``family`` shares: the cheap models take the networks'
        unless some category is embedded (the networks then get its codes)."""
        return "network" if family == "cheap" and not self.embeddings() else family

    def embeddings(self) -> list:
        """The embedded categories of the networks' matrix, as ``(column index, codes,
        size)``: the index of its code column (0 for a rare, unseen or missing level, then
        one per level), how many codes, the embedding's size (fastai's rule, 1.6 times the
        codes to the power 0.56, at most 16)."""
        out, at = [], 0
        if not any(c.stats.get("embed") for c in self.columns):
            return out
        for c in self.columns:
            if c.stats.get("embed"):
                codes = len(c.stats["embed"]) + 1
                out.append((at, codes, embedding_size(codes)))
            at += self._width(c, "network")
        return out

    def categorical_mask(self) -> list:
        """Which of the trees' columns are categories (for their native handling)."""
        return [c.kind == "category" for c in self.columns
                for _ in range(self._width(c, "trees"))]

    def widths(self) -> dict:
        """How many columns each family's matrix has."""
        return {f: sum(self._width(c, f) for c in self.columns) for f in FAMILIES}

    @staticmethod
    def _width(c, family):
        return _encoder(c, family)(_values(_one_missing(), c.kind), c).shape[1]

    def received(self, c: Column) -> dict:
        """What each family makes of column ``c``, in words (the report's Columns table)."""
        s, flag = c.stats, " + missing flag" if c.stats.get("flag") else ""
        if c.kind in ("number", "boolean"):
            net = ("robust scaling, smooth clipping" if c.kind == "number" else "0/1") + flag
            trees = "as it is, missing kept"
        elif c.kind in ("category", "ordered"):
            rank = " + rank" if c.kind == "ordered" else ""
            cheap = f"one-hot of {len(s['one_hot'])} levels + other/missing{rank}"
            trees = (f"native categories ({len(s['tree_levels'])} levels)"
                     if c.kind == "category" else "rank, missing kept")
            if s.get("embed"):
                codes = len(s["embed"]) + 1
                net = (f"embedding of {len(s['embed'])} levels + other/missing "
                       f"({embedding_size(codes)} numbers, trained){rank}")
                return {"network": net, "cheap models": cheap, "trees": trees}
            net = cheap
        elif c.kind == "date":
            parts = "year, month, weekday, day of year" + (", hour" if s["time"] else "")
            net = f"{parts} (cyclic), days since {s['reference_date']}{flag}"
            trees = f"{parts}, days since {s['reference_date']}"
        else:
            net = trees = f"tf-idf of {len(s['vocabulary'])} words and word pairs"
        return {"network": net, "cheap models": net, "trees": trees}

    def frame(self):
        """The report's Columns table: every column, how it was read, its share of missing
        values (training rows) and what each model family received."""
        import pandas as pd

        rows = [{"column": c.name, "kind": c.kind + (f" ({c.how})" if c.how else ""),
                 "missing": round(c.missing, 4), **self.received(c)} for c in self.columns]
        rows += [{"column": n, "kind": "left out", "missing": None, "network": why,
                  "cheap models": why, "trees": why} for n, why in self.dropped.items()]
        return pd.DataFrame(rows)

    # new rows
    def conform(self, frame, name: str = "newdata"):
        """New rows checked against the training columns: the columns by name in any order
        (a missing one is an error naming it, extra ones are ignored with a note, one whose
        kind changed is an error naming it and both kinds); unseen categories are noted."""
        import pandas as pd

        if isinstance(frame, dict):
            frame = pd.DataFrame(frame)
        if not is_frame(frame):
            raise InputTypeError(
                f"{name} must be a data frame with the training columns "
                f"({', '.join(self.names[:10])}{', ...' if len(self.names) > 10 else ''}); "
                f"got {type(frame).__name__}.")
        have = [str(c) for c in frame.columns]
        frame = frame.set_axis(have, axis=1)
        absent = [n for n in self.names if n not in have]
        if absent:
            raise InputError(f"{name} lacks column(s) the models were trained on: "
                             f"{', '.join(absent)}.")
        known = set(self.names) | set(self.dropped) | {self.target}
        extra = [n for n in have if n not in known]
        if extra:
            log.warning(f"{name}: column(s) {', '.join(extra)} were not in the training data; "
                        "ignored")
        changed = {}
        for c in self.columns:
            col = frame[c.name]
            if col.notna().any():
                kind, _, problem = column_kind(col)
                if not _compatible(c.kind, kind):
                    now = problem or ("text" if kind in ("category", "text") and not hasattr(
                        col.dtype, "categories") else kind)
                    changed[c.name] = f"{c.kind} in training, {now} now"
        if changed:
            raise InputTypeError(
                f"{name} has column(s) of another kind than in training: "
                + "; ".join(f"{n} ({k})" for n, k in changed.items())
                + ". Give them the values they had in training.")
        unseen = {}
        for c in self.columns if self.fitted else []:  # given splits: checked before fitting
            if c.kind in ("category", "ordered"):
                labels = _values(frame[c.name], c.kind)
                seen = set(c.stats["levels"])
                new = {v for v in labels if v is not None and v not in seen}
                if new:
                    unseen[c.name] = sorted(new)
        if unseen:
            log.warning(f"{name}: categories not seen in training, predicted as the rare "
                        "levels are: " + "; ".join(
                            f"{n} ({', '.join(v[:5])}{', ...' if len(v) > 5 else ''})"
                            for n, v in unseen.items()))
        return frame[self.names].reset_index(drop=True)

    # keeping
    def to_dict(self) -> dict:
        return {"columns": [{"name": c.name, "kind": c.kind, "how": c.how,
                             "missing": c.missing, "stats": c.stats} for c in self.columns],
                "dropped": self.dropped, "fitted": self.fitted, "target": self.target}

    @classmethod
    def from_dict(cls, d: dict) -> "Table":
        return cls([Column(c["name"], c["kind"], c.get("how", ""), c.get("missing", 0.0),
                           c.get("stats", {})) for c in d["columns"]],
                   d.get("dropped", {}), d.get("fitted", False), d.get("target"))

    def __repr__(self):
        return f"<Table: {self.describe()}>"


def _compatible(trained: str, now: str | None) -> bool:
    if now is None:
        return False
    if trained == now:
        return True
    groups = [{"number", "boolean"}, {"category", "ordered", "text", "boolean", "number"}]
    if trained in STRING_KINDS:
        return now in groups[1]
    if trained in ("number", "boolean"):
        return now in groups[0]
    return False


def _one_missing():
    """One missing value, which every kind reads (to count a column's encoded width)."""
    import pandas as pd

    return pd.Series([None], dtype=object)


# -- a column's values as each kind uses them ------------------------------------------

def _values(col, kind):
    """Numbers (float64, NaN for missing), dates (float days since 1970, NaN), labels
    (text with None for missing) or text (str, "" for missing)."""
    import pandas as pd
    from pandas.api import types

    if kind in ("number", "boolean"):
        if types.is_timedelta64_dtype(col.dtype):
            return col.dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
        if types.is_bool_dtype(col.dtype) or col.dtype == object:
            col = col.astype("Float64") if col.dtype != object else pd.to_numeric(
                col.astype(object).where(col.notna(), None), errors="coerce")
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if kind == "date":
        if isinstance(col.dtype, pd.PeriodDtype):
            col = col.dt.to_timestamp()
        if not types.is_datetime64_any_dtype(col.dtype):
            col = pd.to_datetime(col, errors="coerce", utc=True)
        if getattr(col.dt, "tz", None) is not None:
            col = col.dt.tz_convert("UTC").dt.tz_localize(None)
        seconds = (col - pd.Timestamp("1970-01-01")).dt.total_seconds()
        return seconds.to_numpy(dtype=np.float64, na_value=np.nan) / _DAY_SECONDS
    if kind == "text":
        return [("" if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA
                 else str(v)) for v in col.astype(object)]
    return [None if (v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
                     or v is pd.NaT) else _label(v) for v in col.astype(object)]


# -- fitting, per kind (training rows only) ------------------------------------------------

def _robust(v) -> dict:
    """Median and spread (the interquartile range; the standard deviation or 1 when it is
    zero) of the present values."""
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return {"median": 0.0, "scale": 1.0}
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    scale = q75 - q25
    if not scale > 0:
        scale = float(np.std(v)) or float(np.max(v) - np.min(v)) or 1.0
    return {"median": float(med), "scale": float(scale)}


def _fit_number(v, c):
    return {**_robust(v), "flag": bool(np.isnan(v).any())}


def _fit_boolean(v, c):
    present = v[np.isfinite(v)]
    return {"fill": float(present.mean()) if len(present) else 0.0,
            "flag": bool(np.isnan(v).any())}


def _fit_levels(labels, c):
    from collections import Counter

    counts = Counter(v for v in labels if v is not None)
    order = sorted(counts, key=lambda v: (-counts[v], v))
    kept = [v for v in order if counts[v] >= MIN_LEVEL_ROWS]
    return {"levels": order, "kept": len(kept), "one_hot": kept[:MAX_ONE_HOT],
            "tree_levels": order[:MAX_TREE_LEVELS],
            "flag": any(v is None for v in labels)}


def _fit_category(labels, c):
    return _fit_levels(labels, c)


def _fit_ordered(labels, c):
    stats = _fit_levels(labels, c)
    stats["rank"] = sorted(stats["levels"])  # text with an order: replaced by the declared one
    return stats


def _fit_date(days, c):
    import pandas as pd

    present = days[np.isfinite(days)]
    ref = float(np.floor(present.min())) if len(present) else 0.0
    years = _civil(present, np)["year"]
    return {"reference": ref,
            "reference_date": str(pd.Timestamp(ref * _DAY_SECONDS, unit="s").date()),
            "days": _robust(present - ref), "year": _robust(years),
            "time": bool(len(present) and np.any(np.mod(present, 1) != 0)),
            "flag": bool(np.isnan(days).any())}


#: Keras's TextVectorization standardization ("lower_and_strip_punctuation": TensorFlow's
#: lower case, of ASCII letters only, then this) and split (ASCII white space): the text
#: encoding splits words as the exported networks' text layer does
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_SPACE = re.compile(r"[ \t\n\v\f\r]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _grams(text: str) -> list:
    """The words and word pairs of ``text`` as Keras's ``TextVectorization(ngrams=2)``
    makes them."""
    words = [w for w in _SPACE.split(_PUNCTUATION.sub("", text.translate(_ASCII_LOWER))) if w]
    return words + [" ".join(pair) for pair in zip(words, words[1:])]


def _fit_text(texts, c):
    from sklearn.feature_extraction.text import TfidfVectorizer

    for min_df in (2, 1):
        vec = TfidfVectorizer(analyzer=_grams, max_features=TEXT_VOCABULARY, min_df=min_df)
        try:
            vec.fit(texts)
            break
        except ValueError:  # no word occurs min_df times
            continue
    else:
        return {"vocabulary": [], "idf": []}
    vocabulary = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
    return {"vocabulary": vocabulary, "idf": [float(v) for v in vec.idf_]}


_FIT = {"number": _fit_number, "boolean": _fit_boolean, "category": _fit_category,
        "ordered": _fit_ordered, "date": _fit_date, "text": _fit_text}


# -- encoding, per kind ------------------------------------------------------------------
#
# The encodings of numbers, yes/no columns and dates are written once, against an array
# namespace ``xp``: NumPy here, Keras's ops on a model's inputs in :func:`with_columns`, so
# that the networks' exported .keras files compute inside the model what craft() computed
# for them.

def _smooth_clip(z, xp):
    """RealMLP's clipping: about z near 0, tending to +-3 for outliers."""
    return z / xp.sqrt(1.0 + (z / 3.0) ** 2)


def _scaled(v, stats, missing, xp):
    """Robustly scaled and smoothly clipped; a missing value is the median (0)."""
    return _smooth_clip((xp.where(missing, stats["median"], v) - stats["median"])
                        / stats["scale"], xp)


def _civil(days, xp):
    """Year, month (1-12), weekday (Monday 0), day of year (1-366) and hour (0-24) of days
    since 1970-01-01 (Howard Hinnant's days-to-civil algorithm, in floating point: exact for
    whole days within millions of years, in float32 too)."""
    day = xp.floor(days)
    z = day + 719468.0
    era = xp.floor(z / 146097.0)
    doe = z - era * 146097.0
    yoe = xp.floor((doe - xp.floor(doe / 1460.0) + xp.floor(doe / 36524.0)
                    - xp.floor(doe / 146096.0)) / 365.0)
    doy = doe - (365.0 * yoe + xp.floor(yoe / 4.0) - xp.floor(yoe / 100.0))  # from March 1
    mp = xp.floor((5.0 * doy + 2.0) / 153.0)
    early = mp >= 10.0  # January, February: the next calendar year
    month = xp.where(early, mp - 9.0, mp + 3.0)
    year = yoe + era * 400.0 + xp.where(early, 1.0, 0.0)
    leap = xp.logical_and(xp.mod(year, 4.0) == 0.0, xp.logical_or(
        xp.mod(year, 100.0) != 0.0, xp.mod(year, 400.0) == 0.0))
    yearday = xp.where(early, doy - 305.0, doy + 60.0 + xp.where(leap, 1.0, 0.0))
    return {"year": year, "month": month, "weekday": xp.mod(day + 3.0, 7.0),
            "yearday": yearday, "hour": (days - day) * 24.0}


def _cycles(stats):
    cycles = [("month", 12.0), ("weekday", 7.0), ("yearday", 365.25)]
    return cycles + ([("hour", 24.0)] if stats["time"] else [])


def dense_columns(kind, stats, v, xp):
    """The networks' (and cheap models') encoding of a number, yes/no or date column ``v``
    (shape ``(n, 1)``, NaN where missing), or of an ordered category's lookup index
    (``"rank"``: 0 for a level not in training), as a list of ``(n, 1)`` columns."""
    if kind == "rank":
        top = max(1.0, stats["levels"] - 1.0)
        return [xp.where(v == 0.0, 0.5, (v - 1.0) / top)]
    missing = xp.isnan(v)
    flag = [xp.where(missing, 1.0, 0.0)] if stats.get("flag") else []
    if kind == "number":
        return [_scaled(v, stats, missing, xp)] + flag
    if kind == "boolean":
        return [xp.where(missing, stats["fill"], v)] + flag
    days = xp.where(missing, stats["reference"], v)
    parts = _civil(days, xp)
    cols = [_scaled(days - stats["reference"], stats["days"], missing, xp),
            _scaled(parts["year"], stats["year"], missing, xp)]
    for part, period in _cycles(stats):
        angle = 2.0 * np.pi * parts[part] / period
        cols += [xp.where(missing, 0.0, xp.sin(angle)), xp.where(missing, 0.0, xp.cos(angle))]
    return cols + flag


def dense_width(kind, stats) -> int:
    """How many columns :func:`dense_columns` gives."""
    if kind == "rank":
        return 1
    flag = int(bool(stats.get("flag")))
    if kind == "date":
        return 2 + 2 * len(_cycles(stats)) + flag
    return 1 + flag


def _dense(kind):
    def encode(v, c):
        return np.column_stack(dense_columns(kind, c.stats, v.reshape(-1, 1), np))
    return encode


def _codes(labels, levels):
    """Each label's index in ``levels`` (-1 for a label not among them, or missing)."""
    import pandas as pd

    return np.asarray(pd.Index(levels, dtype=object).get_indexer(
        pd.Index(labels, dtype=object)), dtype=np.int64)


def _one_hot(labels, c):
    """Slot 0 for a level that is rare, unseen or missing, then one per kept level (the
    layout of Keras's ``StringLookup(num_oov_indices=1, output_mode="one_hot")``)."""
    codes = _codes(labels, c.stats["one_hot"]) + 1
    out = np.zeros((len(labels), len(c.stats["one_hot"]) + 1))
    out[np.arange(len(labels)), codes] = 1.0
    return out


def _rank(labels, c):
    codes = _codes(labels, c.stats["rank"]).astype(np.float64)
    codes[codes < 0] = np.nan
    return codes / max(1, len(c.stats["rank"]) - 1)


def _ordered(levels):
    """An ordered category's encoding: ``levels(labels, c)`` (its one-hot columns or its
    embedding's code), then its rank."""
    def encode(labels, c):
        index = _codes(labels, c.stats["rank"]).astype(np.float64) + 1  # 0: not a level
        return np.column_stack([levels(labels, c), *dense_columns(
            "rank", {"levels": len(c.stats["rank"])}, index.reshape(-1, 1), np)])
    return encode


def _tree_date(days, c):
    """Days since the reference, year, month, weekday, day of year (and hour); NaN where
    missing (the trees' own handling)."""
    missing = np.isnan(days)
    parts = _civil(np.where(missing, c.stats["reference"], days), np)
    parts["days"] = days - c.stats["reference"]
    keys = ["days", "year", "month", "weekday", "yearday"] + (["hour"] if c.stats["time"] else [])
    return np.column_stack([np.where(missing, np.nan, parts[k]) for k in keys])


def tf_idf(counts, idf, xp):
    """Word counts ``(n, words)`` as sublinear tf-idf (``1 + log(count)`` times the word's
    inverse document frequency), each row scaled to unit length: scikit-learn's
    ``TfidfVectorizer(sublinear_tf=True)``, written for NumPy and Keras's ops alike."""
    tf = xp.where(counts > 0.0, 1.0 + xp.log(xp.maximum(counts, 1.0)), 0.0) * idf
    norm = xp.sqrt(xp.sum(tf * tf, axis=-1, keepdims=True))
    return tf / xp.where(norm > 0.0, norm, 1.0)


def _text(texts, c):
    s = c.stats
    if not s["vocabulary"]:
        return np.zeros((len(texts), 0))
    from sklearn.feature_extraction.text import CountVectorizer

    counts = CountVectorizer(analyzer=_grams, vocabulary=s["vocabulary"]).transform(texts)
    return tf_idf(counts.toarray().astype(np.float64), np.asarray(s["idf"]), np)


def _tree_number(v, c):
    return v.reshape(-1, 1)


def _tree_category(labels, c):
    levels = c.stats["tree_levels"]
    codes = _codes(labels, levels).astype(np.float64)
    codes[codes < 0] = len(levels)  # rare and unseen levels share one code
    codes[np.array([v is None for v in labels], dtype=bool)] = np.nan
    return codes.reshape(-1, 1)


def _tree_ordered(labels, c):
    return _rank(labels, c).reshape(-1, 1)


def _embed_codes(labels, c):
    """The code an embedding looks up: 0 for a level that is rare, unseen or missing, then
    one per embedded level (the layout of ``StringLookup(num_oov_indices=1)``)."""
    return (_codes(labels, c.stats["embed"]) + 1).astype(np.float64).reshape(-1, 1)


def embedding_size(codes: int) -> int:
    """An embedding's size for ``codes`` codes (fastai's rule, at most 16)."""
    return int(min(16, round(1.6 * codes ** 0.56)))


_DENSE = {"number": _dense("number"), "boolean": _dense("boolean"), "category": _one_hot,
          "ordered": _ordered(_one_hot), "date": _dense("date"), "text": _text}
_EMBED = {"category": _embed_codes, "ordered": _ordered(_embed_codes)}
_TREES = {"number": _tree_number, "boolean": _tree_number, "category": _tree_category,
          "ordered": _tree_ordered, "date": _tree_date, "text": _text}


def _encoder(c, family):
    if family == "trees":
        return _TREES[c.kind]
    if family == "network" and c.stats.get("embed"):
        return _EMBED[c.kind]
    return _DENSE[c.kind]


# -- a network that takes the raw columns -------------------------------------------------

def not_exportable(table) -> str | None:
    """Why the networks of ``table`` cannot be saved with their encoding inside, or None."""
    strings = [c.name for c in table.columns if c.kind in STRING_KINDS]
    if strings:
        try:
            import tensorflow  # noqa: F401 - Keras's string layers run on it, on any backend
        except ImportError:
            return (f"column(s) {', '.join(strings)} of categories or text need TensorFlow "
                    "(Keras's StringLookup and TextVectorization run on it), which is not "
                    "installed")
    return None


def with_columns(table, network):
    """``network`` (trained on :meth:`Table.encode`'s ``"network"`` matrix) behind the same
    encoding built from Keras's own layers and ops: a model whose inputs are the table's
    raw columns by name (:func:`input_name`; numbers and yes/no columns as float32 with NaN
    for missing, dates as days since 1970-01-01, categories and text as strings, "" for
    missing), saved and loaded by Keras alone (no kerascraft, no custom layer). The number,
    yes/no, date and rank encodings are :func:`dense_columns`, the text weights
    :func:`tf_idf`, both applied to the symbolic inputs; categories go through
    ``StringLookup`` (one-hot, slot 0 for the rest; or, embedded, the code the network's
    embedding looks up), text through ``TextVectorization``
    (counts of the kept words and word pairs). Those layers run on TensorFlow's string ops:
    a model with string inputs predicts under Keras's TensorFlow backend (whichever backend
    trained it)."""
    import keras
    from keras import ops

    def dense(kind, stats, x):
        return [ops.cast(v, "float32")
                for v in dense_columns(kind, stats, ops.cast(x, "float32"), ops)]

    inputs, features = {}, []
    for c in table.columns:
        key = input_name(c.name)
        numeric = c.kind in ("number", "boolean", "date")
        x = inputs[key] = keras.Input(shape=(1,), name=key,
                                      dtype="float32" if numeric else "string")
        if numeric:
            features += dense(c.kind, c.stats, x)
        elif c.kind == "text":
            if c.stats["vocabulary"]:
                counts = keras.layers.TextVectorization(
                    vocabulary=c.stats["vocabulary"], ngrams=2, output_mode="count",
                    name=f"words_{key}")(x[:, 0])[:, 1:]  # column 0: words not kept
                features.append(tf_idf(ops.cast(counts, "float32"),
                                       np.asarray(c.stats["idf"], np.float32), ops))
        elif c.stats.get("embed"):  # the code the network's embedding looks up
            features.append(ops.cast(keras.layers.StringLookup(
                vocabulary=c.stats["embed"], num_oov_indices=1, name=f"codes_{key}")(x),
                "float32"))
        else:
            features.append(ops.cast(keras.layers.StringLookup(
                vocabulary=c.stats["one_hot"], num_oov_indices=1, output_mode="one_hot",
                name=f"one_hot_{key}")(x), "float32"))
        if c.kind == "ordered":
            index = keras.layers.StringLookup(vocabulary=c.stats["rank"], num_oov_indices=1,
                                              name=f"levels_{key}")(x)
            features += dense("rank", {"levels": len(c.stats["rank"])}, index)
    x = ops.concatenate(features, axis=-1) if len(features) > 1 else features[0]
    return keras.Model(inputs, network(x), name="with_columns")


def input_name(column: str) -> str:
    """A column's input name in :func:`with_columns`'s model (Keras names take no "/")."""
    return column.replace("/", "_")


def raw_inputs(table, frame) -> dict:
    """The columns of ``frame`` as :func:`with_columns`'s model takes them."""
    out = {}
    for c in table.columns:
        values = _values(frame[c.name], c.kind)
        out[input_name(c.name)] = (
            np.array(["" if v is None else v for v in values], dtype=str)
            if c.kind in STRING_KINDS else np.asarray(values, np.float32)).reshape(-1, 1)
    return out


# -- the target, named in the table ----------------------------------------------------------

def split_target(frame, y: str, name: str = "x"):
    """``(features, target, rows left out)``: the column ``y`` taken out of ``frame``, and
    the rows whose target is missing left out of both."""
    if y not in [str(c) for c in frame.columns]:
        raise InputError(f"y = {y!r} is not a column of {name}; its columns are "
                         f"{', '.join(str(c) for c in list(frame.columns)[:20])}.")
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    target = frame[y]
    keep = target.notna().to_numpy()
    features = frame.drop(columns=[y])[keep].reset_index(drop=True)
    return features, target[keep].reset_index(drop=True), int((~keep).sum())


def target_labels(y):
    """A pandas category target as its labels, with its levels (those that occur) in their
    order as the class names; other targets unchanged, with None."""
    import pandas as pd

    if type(y).__module__.startswith("pandas") and isinstance(
            getattr(y, "dtype", None), pd.CategoricalDtype):
        y = y.cat.remove_unused_categories()
        return y.cat.codes.to_numpy().astype(np.int64), [_label(v) for v in y.cat.categories]
    return y, None


# -- R's columns ---------------------------------------------------------------------------

def frame_from_r(columns: dict):
    """A pandas DataFrame of R's columns, each handed over as ``{"kind", "values",
    "missing", ...}`` by R (``r_table()``), so that R's NA and classes arrive the same in
    every reticulate: numbers and logicals as doubles, factors as 0-based codes with
    ``levels`` and ``ordered``, text, ``Date`` as days and ``POSIXct`` as seconds since
    1970 (``tz``), lists and other classes as ``kind = "unreadable"`` with ``what``."""
    import pandas as pd

    out, problems = {}, {}
    for name, spec in columns.items():
        kind = spec["kind"]
        values = np.asarray(spec.get("values", []))
        missing = np.asarray(spec.get("missing", np.zeros(len(values), bool)), dtype=bool)
        if kind == "unreadable":
            problems[name] = spec.get("what", "values kerascraft cannot read")
            continue
        if kind == "number":
            col = pd.Series(np.where(missing, np.nan, values.astype(np.float64)))
        elif kind == "logical":
            col = pd.Series(pd.array([None if m else bool(v) for v, m in zip(values, missing)],
                                     dtype="boolean"))
        elif kind == "factor":
            levels = [str(v) for v in np.atleast_1d(spec.get("levels", []))]
            codes = np.where(missing, -1, values.astype(np.int64))
            col = pd.Series(pd.Categorical.from_codes(
                codes, categories=pd.Index(levels, dtype=object),
                ordered=bool(spec.get("ordered", False))))
        elif kind == "text":
            col = pd.Series([None if m else str(v) for v, m in zip(values, missing)],
                            dtype=object)
        elif kind == "date":
            col = pd.Series(pd.to_datetime(np.where(missing, np.nan, values.astype(float)),
                                           unit="D"))
        elif kind == "datetime":
            col = pd.Series(pd.to_datetime(np.where(missing, np.nan, values.astype(float)),
                                           unit="s", utc=True))
            tz = spec.get("tz") or ""
            if tz:
                try:
                    col = col.dt.tz_convert(tz)
                except Exception:  # noqa: BLE001 - a zone pandas does not know: kept in UTC
                    pass
        else:
            raise InputError(f"column {name}: unknown kind {kind!r} from R")
        out[name] = col
    if problems:
        listed = "; ".join(f"{c}: {p}" for c, p in problems.items())
        raise InputTypeError(
            f"the data has {len(problems)} column(s) kerascraft cannot read: {listed}. "
            "Drop them, or turn each into numbers, factors, dates or text.")
    return pd.DataFrame(out)

"""Users' tables as they come: columns read by kind, encodings learned from the training
rows only, new raw rows checked, and a crafted result that reloads in a fresh process."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import said
import kerascraft as kc
from kerascraft import tables

ROOT = Path(__file__).resolve().parents[2]


def raw_table(n=300, seed=0):
    """Every pandas column type users bring, missing values in each."""
    rng = np.random.default_rng(seed)
    words = np.array(["good", "Bad", "very,", "fine.", "not", "ok!", "great", "poor"])
    df = pd.DataFrame({
        "size": rng.normal(10, 3, n),
        "count": pd.array(rng.integers(0, 9, n), dtype="Int64"),
        "colour": pd.Categorical(rng.choice(["red", "green", "blue", "black"], n)),
        "grade": pd.Categorical(rng.choice(["low", "mid", "high"], n),
                                categories=["low", "mid", "high"], ordered=True),
        "review": pd.array([" ".join(rng.choice(words, 5)) for _ in range(n)], dtype="string"),
        "shop": pd.array(rng.choice(["north", "south", "east"], n), dtype="string"),
        "member": pd.array(rng.choice([True, False], n), dtype="boolean"),
        "sold": pd.to_datetime("2021-01-01", utc=True)
        + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
        "order_id": [f"A{i:05d}" for i in range(n)],
        "constant": 1.0,
        "empty": pd.array([pd.NA] * n, dtype="Float64"),
    })
    df["price"] = (2 * df["size"] + 5 * (df["colour"] == "red") + 3 * df["grade"].cat.codes
                   + 4 * df["review"].str.contains("great").astype(float)
                   + rng.normal(0, 1, n))
    df.loc[[3, 40], "count"] = pd.NA
    df.loc[[5, 50], "colour"] = np.nan
    df.loc[7, "member"] = pd.NA
    df.loc[9, "sold"] = pd.NaT
    df.loc[11, "review"] = pd.NA
    df.loc[13, "shop"] = None
    df.loc[[2, 17], "price"] = np.nan
    return df


def test_every_column_type_is_read_by_its_kind_and_useless_ones_left_out_with_a_note():
    t = tables.read_table(raw_table().drop(columns="price"))
    assert {c.name: c.kind for c in t.columns} == {
        "size": "number", "count": "number", "colour": "category", "grade": "ordered",
        "review": "text", "shop": "category", "member": "boolean", "sold": "date"}
    assert t.dropped == {"order_id": "a different value in every row (an identifier)",
                         "constant": "one value in every row", "empty": "all values missing"}
    assert t.describe() == ("2 numbers (size, count), 1 yes/no column (member), "
                            "2 categories (colour, shop), 1 ordered category (grade), "
                            "1 date (sold), 1 text column (review)")
    assert "column order_id left out: a different value in every row (an identifier)" in t.notes()


def test_what_cannot_be_read_is_said_at_once():
    df = raw_table().assign(tags=[["a", "b"]] * 300, z=1j)
    with pytest.raises(kc.InputTypeError) as err:
        tables.read_table(df)
    assert str(err.value) == (
        "x has 2 column(s) kerascraft cannot read: tags: lists or other nested values (one "
        "value per cell is needed); z: complex numbers. Drop them, or turn each into "
        "numbers, categories, dates or text.")


def test_encodings_come_from_the_training_rows_only():
    df = raw_table().drop(columns="price")
    train, rest = df.iloc[:200], df.iloc[200:].copy()
    fitted = tables.read_table(df).fit(train)
    # other validation/test rows, wildly different, change nothing that was learned
    rest["size"] = 1e6
    rest["colour"] = pd.Categorical(["purple"] * len(rest))
    rest["review"] = "entirely new words here"
    rest["sold"] = pd.Timestamp("1990-01-01", tz="UTC")
    again = tables.read_table(pd.concat([train, rest])).fit(train)
    assert [c.stats for c in again.columns] == [c.stats for c in fitted.columns]
    size = fitted.columns[0].stats
    assert size["median"] == pytest.approx(np.median(train["size"]))
    assert "purple" not in fitted.columns[2].stats["levels"]
    assert fitted.columns[7].stats["reference_date"] == str(train["sold"].min().date())


def test_each_family_gets_its_own_matrix_and_the_table_round_trips_as_json():
    df = raw_table().drop(columns="price")
    t = tables.read_table(df).fit(df.iloc[:200])
    net, trees = t.encode(df, "network"), t.encode(df, "trees")
    assert net.dtype == np.float32 and np.isfinite(net).all()
    assert trees.dtype == np.float64 and np.isnan(trees).any()  # the trees' own handling
    assert np.array_equal(t.encode(df, "cheap"), net)
    mask = t.categorical_mask()
    assert len(mask) == trees.shape[1] and sum(mask) == 2  # colour and shop, not one-hot
    assert t.widths() == {"network": net.shape[1], "trees": trees.shape[1], "cheap": net.shape[1]}
    assert np.abs(net).max() < 3.0 + 1e-6  # smooth clipping bounds the scaled numbers
    back = tables.Table.from_dict(json.loads(json.dumps(t.to_dict())))
    assert np.array_equal(back.encode(df, "network"), net)
    assert np.array_equal(back.encode(df, "trees"), trees, equal_nan=True)
    frame = t.frame()
    assert list(frame["column"][:2]) == ["size", "count"]
    assert frame.loc[frame["column"] == "colour", "trees"].item() == "native categories (4 levels)"


def test_new_rows_are_checked_by_name(capsys):
    df = raw_table().drop(columns="price")
    t = tables.read_table(df).fit(df.iloc[:200])
    new = df.iloc[:6].copy()
    new["colour"] = new["colour"].cat.add_categories("purple")
    new.loc[0, "colour"] = "purple"
    new.loc[1, "size"] = np.nan  # missing where training had none
    new["note"] = "extra"
    shuffled = t.conform(new[list(reversed(new.columns))])
    said = capsys.readouterr().err  # kerascraft's warnings go to stderr
    assert "column(s) note were not in the training data; ignored" in said
    assert ("categories not seen in training, predicted as the rare levels are: "
            "colour (purple)") in said
    assert np.isfinite(t.encode(shuffled, "network")).all()
    with pytest.raises(kc.InputError, match=r"newdata lacks column\(s\) the models were "
                                             r"trained on: size, grade\."):
        t.conform(new.drop(columns=["size", "grade"]))
    changed = new.assign(size="large", sold=3.5)
    with pytest.raises(kc.InputTypeError, match=r"size \(number in training, text now\); "
                                                 r"sold \(date in training, number now\)"):
        t.conform(changed)


def test_craft_on_a_raw_table_predicts_raw_rows_and_reloads_in_a_fresh_process(tmp_path):
    df = raw_table()
    directory = tmp_path / "raw"
    lines = []
    result = kc.craft(df, y="price", directory=str(directory), progress=said(lines),
                      max_trials=2, epochs=4, top=1, seed=0)
    assert "data: 2 row(s) without a value of price left out" in lines
    assert any(line.startswith("columns: 2 numbers (size, count), 1 yes/no column (member), "
                               "2 categories (colour, shop)") for line in lines)
    assert sum(result.sizes.values()) == 298
    # the encodings were learned on the training split's rows only
    split = np.load(directory / "split.npz")
    kept = df[df["price"].notna()].drop(columns="price").reset_index(drop=True)
    alone = tables.read_table(kept).fit(kept.iloc[split["train"]].reset_index(drop=True))
    assert result.table.to_dict()["columns"] == json.loads(json.dumps(alone.to_dict()))["columns"]
    # trees got native categories, the others one-hot columns
    assert result.models["gbt"].is_categorical_ is not None
    assert result.models["gbt"].is_categorical_.sum() == 2
    new = df.drop(columns="price").iloc[:8].copy()
    new["shop"] = new["shop"].astype(object)
    new.loc[0, "shop"] = "west"  # unseen
    new.loc[1, "size"] = np.nan
    expected = result.predict(new)
    assert expected.shape[0] == 8 and np.isfinite(expected).all()
    assert np.allclose(result.predict(new[new.columns[::-1]]), expected)
    # the same call again: every stage found done, the columns as they were fitted
    resumed = kc.craft(df, y="price", directory=str(directory), verbose=0, max_trials=2,
                       epochs=4, top=1, seed=0)
    assert {"split", "columns", "search", "retrain", "gradient_boosting",
            "cheap_models"} <= set(resumed.reused)
    assert np.allclose(resumed.predict(new), expected, atol=1e-6)
    report = result.report(str(tmp_path / "report.html"))
    page = Path(report).read_text()
    assert "<h2>Columns</h2>" in page and "a different value in every row" in page
    new.to_pickle(tmp_path / "new.pkl")
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(ROOT / "inst" / "python")!r}]
        import numpy as np, pandas as pd
        import kerascraft as kc
        r = kc.load_craft({str(directory)!r})
        rows = pd.read_pickle({str(tmp_path / "new.pkl")!r})
        np.save({str(tmp_path / "again.npy")!r}, r.predict(rows))
        print(r.summary())
        r.report({str(tmp_path / "again.html")!r})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = np.load(tmp_path / "again.npy")
    assert np.allclose(again, expected, rtol=0, atol=1e-6)
    summary = resumed.summary().splitlines()  # the last run's result is the one kept
    assert proc.stdout.strip().splitlines()[-len(summary):] == summary
    assert "<h2>Columns</h2>" in (tmp_path / "again.html").read_text()


def test_load_craft_says_what_is_missing(tmp_path):
    with pytest.raises(kc.InputError, match="holds no craft\\(\\) run: there is no result.json"):
        kc.load_craft(tmp_path)


def test_the_networks_are_written_with_their_encoding_inside_and_take_raw_columns(tmp_path):
    import importlib.util

    df = raw_table()
    # a category of many levels: craft()'s networks look it up in a trained embedding
    df["city"] = pd.Categorical(np.random.default_rng(1).choice(
        [f"city {i}" for i in range(tables.EMBED_LEVELS + 4)], len(df)))
    directory = tmp_path / "export"
    lines = []
    # float32: the encodings agree to float32's rounding, which a half-precision network
    # would turn into differences of its own precision (a test of the encoding, not of it)
    result = kc.craft(df, y="price", directory=str(directory), progress=said(lines),
                      max_trials=1, epochs=2, top=1, seed=0, gradient_boosting=False,
                      cheap_models=False, precision="float32")
    saved = directory / "networks" / "net_1.keras"
    if importlib.util.find_spec("tensorflow") is None:  # Keras's string layers run on it
        assert not saved.exists()
        assert any("of categories or text need TensorFlow" in line for line in lines)
        return
    assert any(line.startswith("networks: net_1 written to") for line in lines)
    assert [c.name for c in result.table.columns if c.stats.get("embed")] == ["city"]
    rows = df.drop(columns="price").iloc[:20].copy()
    rows["shop"] = rows["shop"].astype(object)
    rows.loc[rows.index[0], "shop"] = "west"  # a level the training rows never had
    rows.loc[rows.index[1], "size"] = np.nan
    rows.loc[rows.index[2], "review"] = "Words never seen, GREAT great!"
    rows["city"] = rows["city"].astype(object)
    rows.loc[rows.index[3], "city"] = "a city never seen"
    rows.loc[rows.index[4], "city"] = None
    expected = result.models["net_1"].predict(result.table.encode(rows, "network"), verbose=0)
    rows.to_pickle(tmp_path / "rows.pkl")
    # a fresh process with Keras and kerascraft's layers alone (craft()'s network is made
    # of them): nothing else of kerascraft is loaded to open it or predict
    script = textwrap.dedent(f"""
        import sys
        import numpy as np, pandas as pd, keras, tensorflow as tf
        import kerascraft.layers
        model = keras.saving.load_model({str(saved)!r})
        rows = pd.read_pickle({str(tmp_path / "rows.pkl")!r})
        days = lambda s: ((s.dt.tz_convert(None) - pd.Timestamp("1970-01-01"))
                          .dt.total_seconds() / 86400).to_numpy()
        number = lambda s: s.to_numpy("float64", na_value=np.nan)
        text = lambda s: s.astype(object).fillna("").to_numpy(str)
        columns = {{
            "size": number(rows["size"]), "count": number(rows["count"]),
            "member": number(rows["member"]), "sold": days(rows["sold"]),
            "colour": text(rows["colour"]), "grade": text(rows["grade"]),
            "shop": text(rows["shop"]), "review": text(rows["review"]),
            "city": text(rows["city"])}}
        inputs = {{k: tf.constant(np.asarray(v).reshape(-1, 1)) for k, v in columns.items()}}
        np.save({str(tmp_path / "exported.npy")!r}, model.predict(inputs, verbose=0))
        assert not {{"kerascraft.tables", "kerascraft.workflow"}} & set(sys.modules)
    """)
    # strings reach StringLookup and TextVectorization under the TensorFlow backend only,
    # whichever backend craft() trained on
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    exported = np.load(tmp_path / "exported.npy")
    assert np.allclose(exported, expected, rtol=0, atol=1e-5)


def test_a_network_of_numbers_and_dates_is_exported_and_predicts_on_any_backend(tmp_path):
    df = raw_table()[["size", "count", "sold", "price"]]  # no strings: no TensorFlow needed
    directory = tmp_path / "numbers"
    result = kc.craft(df, y="price", directory=str(directory), verbose=0, max_trials=1,
                      epochs=1, top=1, seed=0, gradient_boosting=False, cheap_models=False,
                      precision="float32")  # as above
    rows = df.drop(columns="price").iloc[:10]
    expected = result.models["net_1"].predict(result.table.encode(rows, "network"), verbose=0)
    inputs = tables.raw_inputs(result.table, rows)
    np.savez(tmp_path / "inputs.npz", **inputs)
    script = textwrap.dedent(f"""
        import sys
        import numpy as np, keras
        import kerascraft.layers
        model = keras.saving.load_model({str(directory / "networks" / "net_1.keras")!r})
        inputs = dict(np.load({str(tmp_path / "inputs.npz")!r}))
        np.save({str(tmp_path / "exported.npy")!r}, model.predict(inputs, verbose=0))
        assert not {{"kerascraft.tables", "kerascraft.workflow"}} & set(sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)  # the backend this test runs on
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert np.allclose(np.load(tmp_path / "exported.npy"), expected, rtol=0, atol=1e-5)


def test_craft_networks_embed_categories_of_many_levels_and_the_cheap_models_one_hot_them():
    df = raw_table().drop(columns="price")
    levels = [f"c{i:02d}" for i in range(tables.EMBED_LEVELS + 4)]
    df["city"] = pd.Categorical(np.random.default_rng(2).choice(levels, len(df)),
                                categories=levels + ["never"])
    t = tables.read_table(df).fit(df.iloc[:200], embed=True)
    city = t.columns[-1]
    assert city.stats["embed"] == city.stats["levels"]  # every level has 2 rows or more
    net, cheap = t.encode(df, "network"), t.encode(df, "cheap")
    (at, codes, size), = t.embeddings()
    assert at == net.shape[1] - 1 and codes == len(levels) + 1
    assert size == tables.embedding_size(codes) and 1 < size <= 16
    expected = np.array([city.stats["embed"].index(v) + 1 for v in df["city"]], float)
    assert np.array_equal(net[:, at], expected)
    assert cheap.shape[1] == net.shape[1] - 1 + len(city.stats["one_hot"]) + 1
    assert t.matrix("cheap") == "cheap" and t.widths()["cheap"] == cheap.shape[1]
    unseen = df.iloc[:3].copy()
    unseen["city"] = pd.Categorical(["never", None, "c00"], categories=levels + ["never"])
    assert list(t.encode(unseen, "network")[:, at]) == [0, 0, city.stats["embed"].index("c00") + 1]
    assert "embedding of" in t.frame().set_index("column").loc["city", "network"]
    # a network not craft()'s own is built for one matrix: the one-hot one
    plain = tables.read_table(df).fit(df.iloc[:200])
    assert plain.embeddings() == [] and plain.matrix("cheap") == "network"
    assert np.array_equal(plain.encode(df, "network"), cheap)


def test_text_is_split_into_words_as_keras_text_layer_splits_it():
    tf = pytest.importorskip("tensorflow")
    import keras

    texts = ["Don't STOP: the end-of-line\ttab", "École, ÉCOLE école!", "  a  b  a ",
             "[UNK] (x) y's", ""]
    stats = tables._fit_text(texts, None)
    layer = keras.layers.TextVectorization(vocabulary=stats["vocabulary"], ngrams=2,
                                           output_mode="count")
    keras_counts = np.asarray(layer(tf.constant(np.array(texts).reshape(-1, 1))))[:, 1:]
    from sklearn.feature_extraction.text import CountVectorizer

    ours = CountVectorizer(analyzer=tables._grams, vocabulary=stats["vocabulary"])
    assert np.array_equal(ours.transform(texts).toarray(), keras_counts)
    assert "dont stop" in stats["vocabulary"] and "École" in stats["vocabulary"]


def test_given_splits_as_frames_with_the_named_target_and_category_classes(tmp_path):
    df = raw_table(n=360, seed=4).drop(columns=["review"])
    df["band"] = pd.Categorical(np.where(df["price"] > df["price"].median(), "high", "low"),
                                categories=["low", "high"])
    df = df.drop(columns="price")
    train, val, test = df.iloc[:200], df.iloc[200:280], df.iloc[280:].copy()
    test["band"] = test["band"].cat.reorder_categories(["high", "low"])  # its own order
    result = kc.craft(train, y="band", validation_data=val, test_data=test,
                      directory=str(tmp_path / "given"), verbose=0, max_trials=1, epochs=2,
                      top=1, seed=0)
    assert result.classes == ["low", "high"]  # the training column's levels, in order
    assert result.sizes == {"train": 200, "validation": 80, "test": 80}
    truth = test["band"].astype(str).map({"low": 0, "high": 1}).to_numpy()
    p = result.predict(test.drop(columns="band"))
    assert (p.argmax(axis=1) == truth).mean() > 0.6
    odd = val.copy()
    odd["band"] = pd.Categorical(["medium"] * len(odd))
    with pytest.raises(kc.InputError, match="validation y has classes that y does not have: "
                                            "medium"):
        kc.craft(train, y="band", validation_data=odd, directory=str(tmp_path / "odd"),
                 verbose=0)

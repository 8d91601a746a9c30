"""Searches shared through an Optuna storage: SQLite in one process, and a real PostgreSQL
(a throwaway server, pgserver.py) with several worker processes, one killed with SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import optuna
import pytest

import kerascraft as kc
from kerascraft import storages as kc_storage
from pgserver import PASSWORD, create_database, temporary_postgres

SRC = str(Path(__file__).resolve().parents[2] / "inst" / "python")
process_heavy = pytest.mark.skipif(
    keras.config.backend() != "tensorflow",
    reason="process-heavy; the storage's rules do not depend on the backend")


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def build(hp):
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(hp.Int("units", 2, 64), activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                  loss="mse")
    return model


def build_other(hp):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("width", 2, 8)),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _study(url, name):
    return optuna.load_study(study_name=name, storage=kc_storage.storage(url))


# -- one process, SQLite --------------------------------------------------------------------

def test_a_search_in_sqlite_resumes_by_reconnecting_and_refuses_another_space(tmp_path):
    url = f"sqlite:///{tmp_path}/search.db"
    x, y = _data()
    directory = str(tmp_path / "tuning")
    t = kc.tuner("tpe", build, max_trials=3, directory=directory, project_name="p",
                 storage=url, seed=1)
    t.search(x, y, validation_split=0.25, epochs=2, verbose=0)
    study = _study(url, "p")
    assert [s.state.name for s in study.trials] == ["COMPLETE"] * 3
    assert [s.user_attrs[kc_storage.TRIAL_ID_ATTR] for s in study.trials] == ["0", "1", "2"]

    # another process (here: a new tuner) with a larger budget continues the same study
    t2 = kc.tuner("tpe", build, max_trials=5, directory=directory, project_name="p",
                  storage=url, seed=1)
    assert len(t2.oracle.trials) == 3  # every trial so far, read back
    t2.search(x, y, validation_split=0.25, epochs=2, verbose=0)
    frame = kc.results(t2)
    assert len(frame) == 5 and (frame["status"] == "COMPLETED").all()
    assert kc_storage.counts(_study(url, "p"))["done"] == 5
    # the scores in the results are those the study holds
    scores = {s.user_attrs[kc_storage.TRIAL_ID_ATTR]: s.value for s in _study(url, "p").trials
              if s.state.name == "COMPLETE"}
    for _, row in frame.iterrows():
        assert row["score"] == pytest.approx(scores[row["trial_id"]])

    with pytest.raises(kc.InputError, match=r"is another search \(its build function or "
                                            r"HyperModel has other code\).* another project_name"):
        kc.tuner("tpe", build_other, max_trials=5, directory=directory, project_name="p",
                 storage=url).search(x, y, validation_split=0.25, epochs=1, verbose=0)


def test_overwrite_with_a_storage_starts_the_study_afresh(tmp_path):
    url = f"sqlite:///{tmp_path}/search.db"
    x, y = _data()
    args = dict(max_trials=2, directory=str(tmp_path / "t"), project_name="p", storage=url)
    kc.tuner("tpe", build, **args).search(x, y, validation_split=0.25, epochs=1, verbose=0)
    t = kc.tuner("tpe", build_other, overwrite=True, **args)
    t.search(x, y, validation_split=0.25, epochs=1, verbose=0)
    # two trials of the new search only (a suggestion repeating one of 7 widths is a
    # failed repeat, not a trial)
    assert kc_storage.counts(_study(url, "p"))["done"] == 2
    assert {s.user_attrs[kc_storage.TRIAL_ID_ATTR] for s in _study(url, "p").trials
            if s.state.name == "COMPLETE"} == set(t.oracle.trials)
    assert set(_study(url, "p").user_attrs[kc_storage.SEARCH_ATTR]["space"]) == {"width"}


def test_storage_refuses_a_kerastuner_kind_and_a_retry_queue(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    with pytest.raises(kc.InputError, match="Optuna kinds"):
        kc.tuner("random", build, directory=str(tmp_path), storage=url)
    with pytest.raises(kc.InputError, match="max_retries_per_trial"):
        kc.tuner("tpe", build, directory=str(tmp_path), storage=url, max_retries_per_trial=1)


def test_an_unreachable_database_is_named_without_its_password(tmp_path):
    url = "postgresql://someone:hunter2-secret@127.0.0.1:1/nowhere"
    with pytest.raises(kc.InputError) as err:
        kc.tuner("tpe", build, directory=str(tmp_path), storage=url)
    text = str(err.value)
    assert "hunter2" not in text
    assert "postgresql://someone:***@127.0.0.1:1/nowhere" in text
    assert "Check that the database server runs" in text
    assert kc_storage.masked(url) == "postgresql://someone:***@127.0.0.1:1/nowhere"


def test_a_journal_file_is_a_storage(tmp_path):
    x, y = _data()
    journal = str(tmp_path / "search.journal")
    t = kc.tuner("tpe", build, max_trials=2, directory=str(tmp_path / "t"), project_name="j",
                 storage=journal)
    t.search(x, y, validation_split=0.25, epochs=1, verbose=0)
    assert t.oracle.storage_description() == f"journal file {journal}"
    assert kc_storage.counts(_study(journal, "j"))["done"] == 2


# -- PostgreSQL and worker processes ----------------------------------------------------------

@pytest.fixture(scope="module")
def postgres():
    with temporary_postgres() as url:
        yield url


SCRIPT = '''
import os, sys, time
sys.path.insert(0, {src!r})
import keras, numpy as np
import kerascraft as kc

def build(hp):
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 2, 64),
                          activation="relu"), keras.layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
              loss="mse")
    return m

class Slow(keras.callbacks.Callback):  # a trial of about {seconds} s
    def on_epoch_end(self, epoch, logs=None):
        time.sleep({seconds} / 3)

rng = np.random.default_rng(0)
x = rng.normal(size=(160, 4)).astype("float32")
# the URL from KERASCRAFT_STORAGE (set by `python -m kerascraft worker --storage`)
store = kc.storage(heartbeat_interval=1, grace_period=4)
t = kc.tuner("tpe", build, max_trials={max_trials}, directory={directory!r},
             project_name="shared", storage=store, seed=3)
t.search(x, x.sum(1, keepdims=True), validation_split=0.25, epochs=3, callbacks=[Slow()])
'''


def _worker(script, url, name, log_dir):
    log = open(os.path.join(log_dir, f"{name}.log"), "w")
    env = dict(os.environ, PYTHONPATH=SRC, TF_CPP_MIN_LOG_LEVEL="3", PYTHONFAULTHANDLER="1")
    env.pop("KERASCRAFT_STORAGE", None)
    cmd = [sys.executable, "-m", "kerascraft", "worker", str(script), "--id", name]
    if name.endswith("0"):
        env["KERASCRAFT_STORAGE"] = url  # the URL kept off the command line
    else:
        cmd += ["--storage", url]
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_for(what, timeout, every=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = what()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"waited {timeout} s in vain")


def _script(tmp_path, max_trials, seconds):
    directory = str(tmp_path / "tuning")
    script = tmp_path / "search.py"
    script.write_text(SCRIPT.format(src=SRC, directory=directory, max_trials=max_trials,
                                    seconds=seconds))
    return script, directory


def _running_of(url, worker):
    try:
        study = _study(url, "shared")
    except KeyError:  # not made yet: the workers are starting
        return None
    return next((t for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
                 if t.user_attrs.get(kc_storage.WORKER_ATTR) == worker), None)


def _logs(log_dir, workers=()):
    for w in workers:  # a worker still running: its stack into its log (faulthandler)
        if w.poll() is None:
            w.send_signal(signal.SIGABRT)
            w.wait()
    return "\n".join(f"--- {p}\n{open(os.path.join(log_dir, p)).read()[-3000:]}"
                     for p in sorted(os.listdir(log_dir)) if p.endswith(".log"))


@process_heavy
def test_three_workers_one_killed_share_a_postgres_search(tmp_path, postgres):
    url = create_database(postgres, "three")
    script, directory = _script(tmp_path, max_trials=6, seconds=3)
    log_dir = str(tmp_path)
    w0, w1 = _worker(script, url, "w0", log_dir), _worker(script, url, "w1", log_dir)
    team = [w0, w1]
    try:
        # w1 is killed in the middle of a trial: its heartbeat stops
        victim = _wait_for(lambda: _running_of(url, "w1"), 120)
        time.sleep(1.0)
        os.kill(w1.pid, signal.SIGKILL)  # the worker process itself (python -m kerascraft)
        w1.wait()
        # a worker started after the search began joins it
        w2 = _worker(script, url, "w2", log_dir)
        team.append(w2)
        for w in (w0, w2):
            try:
                code = w.wait(timeout=180)
            except subprocess.TimeoutExpired:
                code = "still running"
            assert code == 0, _logs(log_dir, (w0, w2))
    finally:  # none left running against the server the fixture stops
        for w in team:
            if w.poll() is None:
                w.kill()
                w.wait()
    study = _study(url, "shared")
    states = {t.number: t.state.name for t in study.trials}
    assert states[victim.number] == "FAIL"
    again = [t for t in study.trials
             if optuna.storages.RetryFailedTrialCallback.retried_trial_number(t) == victim.number]
    assert len(again) == 1 and again[0].state.name == "COMPLETE", states
    counted = kc_storage.counts(study)
    assert counted == {"done": 6, "busy": 0, "waiting": 0}, states
    complete = [t for t in study.trials if t.state.name == "COMPLETE"
                and kc_storage.REPEAT_ATTR not in t.user_attrs]
    assert len(complete) == 6
    assert {t.user_attrs[kc_storage.WORKER_ATTR] for t in complete} >= {"w0", "w2"}
    # no configuration run twice
    values = [json.dumps(t.user_attrs[kc_storage.VALUES_ATTR], sort_keys=True) for t in complete]
    assert len(set(values)) == 6
    # read back in a fresh process's way: the killed trial failed, saying why
    reader = kc.tuner("tpe", build, max_trials=6, directory=directory, project_name="shared",
                      storage=url)
    frame = kc.results(reader)
    assert (frame["status"] == "COMPLETED").sum() == 6
    dead = frame[frame["trial_id"] == reader.oracle._trial_id(victim.number)].iloc[0]
    assert dead["status"] == "FAILED"
    assert "stopped sending heartbeats" in dead["error"]
    # the password is in no log, no file of the search
    for root, _, files in os.walk(tmp_path):
        for f in files:
            if f.endswith((".json", ".log", ".txt")):
                assert PASSWORD not in open(os.path.join(root, f), errors="replace").read(), f


@process_heavy
def test_a_search_stopped_whole_and_started_again_continues(tmp_path, postgres):
    url = create_database(postgres, "restart")
    script, directory = _script(tmp_path, max_trials=4, seconds=2)
    log_dir = str(tmp_path)
    first = [_worker(script, url, f"a{i}", log_dir) for i in (0, 1)]
    try:
        # stopped (both killed) once a trial has finished and others run
        _wait_for(lambda: _running_of(url, "a0") or _running_of(url, "a1"), 120)
        _wait_for(lambda: kc_storage.counts(_study(url, "shared"))["done"] >= 1, 120)
        _wait_for(lambda: _running_of(url, "a0") or _running_of(url, "a1"), 60)
    finally:
        for w in first:
            w.kill()
            w.wait()
    done_before = kc_storage.counts(_study(url, "shared"))["done"]
    assert 1 <= done_before < 4
    again = _worker(script, url, "b0", log_dir)
    try:
        code = again.wait(timeout=180)
    except subprocess.TimeoutExpired:
        code = "still running"
    finally:
        logs = _logs(log_dir, (again,))
    assert code == 0, logs
    study = _study(url, "shared")
    assert kc_storage.counts(study)["done"] == 4
    by_worker = [t.user_attrs[kc_storage.WORKER_ATTR] for t in study.trials
                 if t.state.name == "COMPLETE"]
    assert by_worker.count("b0") == 4 - done_before  # only what was left


def test_craft_keeps_its_search_in_a_storage_and_resumes_from_it(tmp_path, wine):
    from kerascraft.workflow import craft

    url = f"sqlite:///{tmp_path}/craft.db"
    args = dict(max_trials=2, epochs=3, top=1, kind="tpe", seed=1, verbose=0,
                gradient_boosting=False, cheap_models=False, storage=url,
                directory=str(tmp_path / "run"))
    craft(wine["x"], wine["y"], **args)
    (name,) = optuna.get_all_study_names(storage=kc_storage.storage(url))
    assert name.startswith("craft-run-")
    assert kc_storage.counts(_study(url, name))["done"] == 2
    result = craft(wine["x"], wine["y"], **{**args, "max_trials": 3})
    assert kc_storage.counts(_study(url, name))["done"] == 3
    assert len(result.trials) == 3
    assert f"search record: {url}, study {name!r}" in result.summary()
    report = open(result.report(str(tmp_path / "report.html"))).read()
    assert f"{url}, study &#x27;{name}&#x27;" in report
    # started afresh in the directory: afresh in the storage too
    craft(wine["x"], wine["y"], **{**args, "overwrite": True})
    assert kc_storage.counts(_study(url, name))["done"] == 2  # not the 3 of before
    # the URL is in no file craft() writes
    for root, _, files in os.walk(tmp_path / "run"):
        for f in files:
            if f.endswith((".json", ".html", ".txt")):
                assert "craft.db" not in open(os.path.join(root, f), errors="replace").read(), f


# -- the live dashboard -------------------------------------------------------------------------

def test_the_dashboard_shows_the_search_in_a_browser(tmp_path, browser):
    import urllib.request

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url = f"sqlite:///{tmp_path}/search.db"
    x, y = _data()
    t = kc.tuner("tpe", build, max_trials=4, directory=str(tmp_path / "t"),
                 project_name="watched", storage=url, seed=2)
    t.search(x, y, validation_split=0.25, epochs=2, verbose=0)
    with kc.dashboard(t) as board:
        assert board.running and board.host == "127.0.0.1"
        assert board.url.startswith(f"http://127.0.0.1:{board.port}/dashboard/studies/")
        with urllib.request.urlopen(board.root.replace("/dashboard/", "/api/studies")) as r:
            studies = json.load(r)["study_summaries"]
        assert [s["study_name"] for s in studies] == ["watched"]
        browser.get(board.url)
        # the history plot's points: one per finished trial
        points = WebDriverWait(browser, 60).until(lambda b: len(b.find_elements(
            By.CSS_SELECTOR, "#plot-history .scatterlayer .point")) >= 4 or None)
        assert points
        assert "watched" in browser.page_source
        shot = os.environ.get("KERASCRAFT_DASHBOARD_SCREENSHOT")  # the scaling vignette's figure
        if shot:
            browser.save_screenshot(shot)
    assert not board.running


def test_the_dashboard_says_what_it_needs(tmp_path):
    t = kc.tuner("tpe", build, max_trials=1, directory=str(tmp_path / "t"))
    with pytest.raises(kc.InputError, match="keeps no storage"):
        kc.dashboard(t)


def test_the_worker_command_says_what_it_needs(tmp_path, monkeypatch, capsys):
    from kerascraft.cli import main

    script = tmp_path / "s.py"
    script.write_text("")
    monkeypatch.delenv("KERASCRAFT_STORAGE", raising=False)
    with pytest.raises(SystemExit):
        main(["worker", str(script)])
    assert "needs --storage URL (or KERASCRAFT_STORAGE)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["worker", str(script), "--oracle", "127.0.0.1:1"])
    assert "needs --id NAME" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["worker", str(script), "--oracle", "127.0.0.1:1", "--storage", "x.journal"])
    assert "not both" in capsys.readouterr().err

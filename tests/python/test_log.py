"""Progress and messages go through the "kerascraft" logger; verbose decides what shows."""

import logging
import time

import kerascraft as kc
from kerascraft import log as kc_log
from test_oracles import _search


class Keep(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append((record.name, record.levelname, record.getMessage()))


def test_a_searchs_lines_reach_a_users_handler_and_stdout(tmp_path, capsys):
    keep = Keep()
    logging.getLogger("kerascraft").addHandler(keep)
    try:
        t = kc.tuner("random", lambda hp: hp.Float("x", 0, 1), objective=kc.objective("score", "min"),
                     max_trials=3, directory=tmp_path, seed=1)
        t.run_trial = lambda trial, *a, **k: {"score": trial.hyperparameters.values["x"]}
        t.search(verbose=1)
        shown = capsys.readouterr().out
        t2 = _search("random", tmp_path, max_trials=2, name="quiet")  # verbose=0
        quiet = capsys.readouterr().out
    finally:
        logging.getLogger("kerascraft").removeHandler(keep)
    trials = [m for name, level, m in keep.lines if m.startswith("trial ")]
    assert len(trials) == 3
    assert all(name == "kerascraft.tuning" and level == "INFO" for name, level, m in keep.lines
               if m.startswith("trial "))
    assert all(m in shown for m in trials)  # the default handler printed them too
    assert quiet == "" and len(t2.oracle.trials) == 2


def test_progress_sends_lines_to_a_function_and_the_outer_call_decides():
    log = logging.getLogger("kerascraft.test")
    got = []
    with kc_log.progress(1, to=got.append):
        log.info("shown")
        with kc_log.progress(0):  # a verb inside another: the outer choice holds
            log.info("still shown")
    with kc_log.progress(0, to=got.append):
        log.info("hidden")
        log.warning("hidden too")
    # each line after the time since the outermost call began
    assert got == ["[0:00] shown", "[0:00] still shown"]
    assert logging.getLogger("kerascraft").level == logging.INFO  # restored


def test_with_a_deadline_each_line_also_says_the_time_left():
    from kerascraft.budget import Deadline

    log = logging.getLogger("kerascraft.test")
    got = []
    with kc_log.progress(1, to=got.append, deadline=Deadline(125, started=time.monotonic() - 65)):
        log.info("halfway")
        log.warning("a warning has no time")
    assert got == ["[1:05, 1:00 left] halfway", "a warning has no time"]

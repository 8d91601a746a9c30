"""A search killed in the middle of a trial resumes with overwrite=False."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import kerascraft as kc
from kerascraft.demo import build_digits_mlp as build_mlp

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


@pytest.mark.parametrize("kind", ["random", "auto"])
def test_search_killed_mid_trial_resumes_without_redoing_finished_trials(kind, tmp_path, digits):
    markers = tmp_path / "started"
    markers.mkdir()
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path[:0] = [{str(ROOT / "inst" / "python")!r}, {str(HERE)!r}]
        import keras
        import kerascraft as kc
        from kerascraft.demo import build_digits_mlp as build_mlp

        class HangInThirdTrial(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                n = len(os.listdir({str(markers)!r}))
                open(os.path.join({str(markers)!r}, str(n)), "w").close()
                if n == 2:
                    time.sleep(600)

        d = kc.load_digits(seed=0)
        t = kc.tuner({kind!r}, build_mlp, objective="val_accuracy", max_trials=4,
                     directory={str(tmp_path)!r}, seed=3)
        t.search(d["x_train"], d["y_train"], validation_data=(d["x_val"], d["y_val"]),
                 epochs=1, verbose=0, callbacks=[HangInThirdTrial()])
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 900
    while not (markers / "2").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "the third trial never started"
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    resumed = kc.tuner(kind, build_mlp, objective="val_accuracy", max_trials=4,
                       directory=tmp_path, seed=3, overwrite=False)
    before = kc.results(resumed)
    done_before = before[before.status == "COMPLETED"]
    assert len(done_before) == 2
    resumed.search(digits["x_train"], digits["y_train"],
                   validation_data=(digits["x_val"], digits["y_val"]), epochs=1, verbose=0)
    after = kc.results(resumed)
    assert len(after) == 4 and (after.status == "COMPLETED").all()
    # the trial the kill interrupted ran again, and says so
    assert sorted(after.retries) == [0, 0, 0, 1]
    # the finished trials were kept as they were, not trained again
    kept = after.set_index("trial_id").loc[done_before.trial_id]
    assert list(kept.score) == list(done_before.score)
    assert list(kept.seconds) == list(done_before.seconds)
    # no configuration was trained twice
    configs = list(zip(after.units, after.optimizer))
    assert len(set(configs)) == 4

"""The bridge leaves a process that exits cleanly (rpy2's exit-time abort must not return)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).parent


def test_process_running_r_and_python_exits_0(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from rsession import start_r
        r = start_r()
        r('''
        build_model <- function(hp) {{
          model <- keras$Sequential(list(keras$Input(shape = list(4L)),
                                         keras$layers$Dense(hp$Int("units", 2, 4, step = 2)),
                                         keras$layers$Dense(1L)))
          model$compile(optimizer = "adam", loss = "mse")
          model
        }}
        t <- tuner("random", build_model, max_trials = 1, directory = {str(tmp_path)!r})
        search(t, matrix(runif(40), 10), runif(10), validation_data = list(matrix(runif(8), 2), runif(2)),
               epochs = 1, verbose = 0)
        cat("trials:", nrow(results(t)), results(t)$status, "\\n")
        ''')
        print("python side done", flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=900, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert "trials: 1 COMPLETED" in proc.stdout, proc.stderr[-3000:]
    assert "python side done" in proc.stdout
    assert proc.returncode == 0, f"exit status {proc.returncode}\n{proc.stderr[-3000:]}"
    assert "Exception ignored" not in proc.stderr and "processevents" not in proc.stderr, proc.stderr[-3000:]

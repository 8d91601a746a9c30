"""install_kerascraft() builds an environment that R then finds by itself."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _rscript(code, env, cwd):
    return subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=1800)


def test_install_kerascraft_makes_an_environment_r_finds(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("RETICULATE_PYTHON", "KERASCRAFT_PYTHON", "VIRTUAL_ENV")}
    env["WORKON_HOME"] = str(tmp_path / "envs")  # reticulate's virtualenv root
    proc = _rscript("p <- kerascraft::install_kerascraft(); cat('made:', p, '\\n')", env, tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    python = tmp_path / "envs" / "r-kerascraft" / "bin" / "python"
    assert f"made: {python}" in proc.stdout
    pins = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"],
                          capture_output=True, text=True).stdout
    # the pin set that fits this machine's reticulate: NumPy 1.26 before 1.36, NumPy 2 after
    pin_set = _rscript("cat(kerascraft:::kc_pin_set())", env, tmp_path).stdout.strip()
    numpy_pin = next(line.split("#")[0].strip() for line in
                     (ROOT / "inst" / "python" / pin_set).read_text().splitlines()
                     if line.startswith("numpy=="))
    assert "keras-tuner==1.4.8" in pins and numpy_pin in pins, (pin_set, pins)

    proc = _rscript("stopifnot(kerascraft::python_ready()); cat('python:', reticulate::py_exe())",
                    env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"python: {python}" in proc.stdout

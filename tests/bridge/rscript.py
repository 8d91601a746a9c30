"""R code run in an Rscript process of its own: for tests where R embedded by rpy2 would
be the wrong place (scikit-learn inside it can make later embedded tests abort; logical
devices need a fresh backend)."""

import subprocess

#: R helpers for scripts that report values: say("name", value) prints "name: value"
SAY = """
say <- function(name, value) cat(name, ": ", paste(if (is.character(value)) value else format(value), collapse = " "), "\\n", sep = "")
err <- function(expr) tryCatch({ expr; "no error" }, error = function(e) conditionMessage(e))
"""


def rscript(code, cwd, timeout=600):
    """Run ``code`` with Rscript in ``cwd``; fail with its output unless it exits 0.
    Returns its stdout."""
    proc = subprocess.run(["Rscript", "-e", code], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def rscript_values(code, cwd, timeout=600):
    """:func:`rscript` with :data:`SAY` defined first; returns ``({name: value}, stdout)``
    from the lines ``name: value`` (a later line of the same name wins)."""
    stdout = rscript(SAY + code, cwd, timeout)
    out = {}
    for line in stdout.splitlines():
        if ": " in line:
            key, value = line.split(": ", 1)
            out[key] = value.strip()
    return out, stdout

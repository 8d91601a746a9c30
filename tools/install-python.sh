#!/usr/bin/env bash
# Make, or bring up to date, a virtual environment with kerascraft's Python stack; quiet
# when it is up to date.
#
#   tools/install-python.sh pinned VENV   the pin set that fits the installed reticulate
#                                         (tools/pin-set.R) + requirements-dev.txt
#   tools/install-python.sh latest VENV   the newest releases pyproject.toml allows
#                                         (.[jax,test], no pins), re-resolved once a day
#
# Both then install the Python core itself (again whenever its sources change). The venv is
# made from $PYTHON (default: the system's /usr/bin/python3, 3.11 on Debian 12 and 3.13 on
# Debian 13), and made anew when it was made from another Python version.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?pinned or latest} venv=${2:?the environment folder}
python=${PYTHON:-/usr/bin/python3}
say() { echo "kerascraft: $*"; }
pip_install() {
  # pip's notes about this machine's missing local package folders are noise
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1 |
    { grep -v 'is neither a file nor a directory' || true; }
  return "${PIPESTATUS[0]}"
}

version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }
if [[ -x "$venv/bin/python" && "$(version "$venv/bin/python")" != "$(version "$python")" ]]; then
  say "$venv was made from Python $(version "$venv/bin/python"), not $(version "$python"): making it anew"
  rm -rf "$venv"
fi
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
  rm -f "$venv"/.kerascraft-*
fi

case "$mode" in
  pinned)
    set=$(Rscript tools/pin-set.R)
    files=(inst/python/"$set" inst/python/requirements-keras.txt requirements-dev.txt)
    wanted="$set $(cat "${files[@]}" | sha256sum)"
    args=(-r "inst/python/$set" -r requirements-dev.txt)
    what="the pinned Python stack ($set)" ;;
  latest)
    wanted="$(sha256sum < pyproject.toml) $(date +%F)"
    args=(--upgrade --upgrade-strategy eager ".[jax,test]")
    what="the newest releases pyproject.toml allows" ;;
  *) echo "usage: $0 pinned|latest VENV" >&2; exit 2 ;;
esac
stamp="$venv/.kerascraft-$mode"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
  say "installing $what into $venv"
  pip_install "${args[@]}"
  echo "$wanted" > "$stamp"
  if [[ "$mode" == latest ]]; then
    say "newest releases: $("$venv/bin/python" -m pip list --format=freeze 2>/dev/null |
      grep -iE '^(numpy|pandas|scikit-learn|scipy|keras|keras-tuner|jax|matplotlib)==' | tr '\n' ' ')"
  fi
fi

# The Python core, for Python users of the environment (R loads it from the R package).
core="$(find pyproject.toml inst/python -name '*.py' -o -name pyproject.toml | sort | xargs cat | sha256sum)"
if [[ ! -f "$venv/.kerascraft-core" || "$(cat "$venv/.kerascraft-core")" != "$core" ]]; then
  say "installing the Python core into $venv"
  pip_install --no-deps --force-reinstall .
  rm -rf build inst/python/*.egg-info
  echo "$core" > "$venv/.kerascraft-core"
fi

#!/usr/bin/env bash
# Install the Debian packages kerascraft needs, when some are missing. Quiet when all are
# there. R comes from Debian (CRAN is not reachable from our machines). The same names on
# Debian 12 and Debian 13.
# With --test, also what only the test suite needs (a browser for the report test, PostgreSQL
# for the shared-search tests).
set -euo pipefail

packages=(
  r-base-core r-base-dev          # R itself, and headers/compilers for R packages
  r-cran-reticulate               # the R <-> Python bridge (1.28 on Debian 12, 1.41 on Debian 13)
  r-cran-testthat r-cran-roxygen2 # tests and documentation
  r-cran-knitr r-cran-rmarkdown pandoc  # vignettes
  r-cran-ggplot2                  # plots of search results
  # the environments' Python: 3.11 on Debian 12, 3.13 on Debian 13. python3-dev brings the
  # libpython that reticulate loads; reticulate >= 1.41 refuses a base Python without pip
  python3 python3-venv python3-dev python3-pip
)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(chromium chromium-driver)  # the report is opened in a real headless browser
  # shared searches are tested on a real database: the tests start a throwaway server of
  # their own (tests/python/pgserver.py), so no cluster is made or started at install
  packages+=(postgresql)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "kerascraft: installing Debian packages: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "kerascraft: not root and no sudo; ask an administrator to run:" >&2
    echo "  apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if [[ " ${missing[*]} " == *" postgresql "* ]]; then
  # no system cluster, so no service left running: the tests make their own in a temporary folder
  $sudo mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.d/kerascraft.conf >/dev/null
fi
log=$(mktemp)
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "kerascraft: apt-get failed (log above)" >&2
  exit 1
fi
rm -f "$log"

# kerascraft: `make demo` and `make test` set up everything they need on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Python the environments are made from (Debian's python3: 3.11 on Debian 12, 3.13 on
# Debian 13), and where they live: reticulate's virtualenv root, the pinned one under the
# name the R package looks for (r-kerascraft), the one with the newest releases beside it.
PYTHON    ?= /usr/bin/python3
VENV_ROOT ?= $(if $(WORKON_HOME),$(WORKON_HOME),$(HOME)/.virtualenvs)
VENV      ?= $(VENV_ROOT)/r-kerascraft
LATEST    ?= $(VENV_ROOT)/kerascraft-latest
VPY       := $(VENV)/bin/python
STAMPS    := .make
R_SRC  := DESCRIPTION NAMESPACE $(wildcard R/*.R) $(shell find inst man vignettes -type f -not -path '*/__pycache__/*' -not -path '*.egg-info*' 2>/dev/null)
VERSION := $(shell sed -n 's/^Version: //p' DESCRIPTION)

.PHONY: help install system system-test python-env latest-env test test-python test-r demo docs check clean

help:
	@echo "make demo     set up what is missing, then craft() on bundled digits data from R"
	@echo "make test     set up what is missing, then run the whole test suite"
	@echo "make install  only the set-up (Debian packages, Python environment, R package)"
	@echo "make docs     regenerate roxygen docs and build the vignettes"
	@echo "make check    R CMD build + R CMD check --no-manual"

install: system python-env $(STAMPS)/rpkg

system:
	@tools/install-system.sh

system-test:
	@tools/install-system.sh --test

# The pinned stack that fits the installed reticulate (NumPy 1 before 1.36, today's releases
# after), and the core; only what changed is redone.
python-env: system
	@PYTHON=$(PYTHON) tools/install-python.sh pinned $(VENV)

# The newest releases pyproject.toml allows, for the test job that catches a release of
# NumPy, pandas, scikit-learn, Keras or JAX that breaks kerascraft.
latest-env: system
	@PYTHON=$(PYTHON) tools/install-python.sh latest $(LATEST)

# The R package, built as users get it (.Rbuildignore applies), then installed.
$(STAMPS)/rpkg: $(R_SRC) | system
	@echo "kerascraft: installing the R package"
	@mkdir -p $(STAMPS)
	@R CMD build --no-build-vignettes --no-manual . > $(STAMPS)/rbuild.log 2>&1 || { cat $(STAMPS)/rbuild.log; exit 1; }
	@lib=$$(Rscript tools/r-library.R) && \
	  R CMD INSTALL --no-test-load -l "$$lib" kerascraft_$(VERSION).tar.gz > $(STAMPS)/rinstall.log 2>&1 || { cat $(STAMPS)/rinstall.log; exit 1; }
	@rm -f kerascraft_$(VERSION).tar.gz
	@touch $@

# The bridge runs in a process of its own: R embedded by rpy2 can abort on a GIL error when
# it runs after much unrelated Python work in the same process (see tests/bridge/rsession.py).
# Each job is timed and the times are printed at the end; Python was installed above, so a
# test that finds it missing fails instead of skipping (KERASCRAFT_REQUIRE_PYTHON=1).
test: install latest-env system-test
	@tools/run-tests.sh \
	  tensorflow '$(VPY) -m pytest tests/python' \
	  jax 'KERAS_BACKEND=jax $(LATEST)/bin/python -m pytest tests/python' \
	  bridge '$(VPY) -m pytest tests/bridge' \
	  testthat 'KERASCRAFT_REQUIRE_PYTHON=1 Rscript tools/run-testthat.R'

test-python: install system-test
	$(VPY) -m pytest tests/python

# run outside the checkout: reticulate 1.28 warns about any pyproject.toml in the working directory
demo: install
	@cd "$${TMPDIR:-/tmp}" && TF_CPP_MIN_LOG_LEVEL=2 Rscript -e 'kerascraft::craft_demo(directory = "kerascraft_demo")'

docs: install
	Rscript -e 'roxygen2::roxygenise()'
	cd vignettes && for f in *.Rmd; do Rscript -e "rmarkdown::render('$$f', quiet = TRUE)" || exit 1; done

check: install
	R CMD build .
	_R_CHECK_FORCE_SUGGESTS_=false R CMD check --no-manual kerascraft_$(VERSION).tar.gz

clean:
	rm -rf $(STAMPS) build inst/python/*.egg-info kerascraft.Rcheck kerascraft_*.tar.gz .pytest_cache

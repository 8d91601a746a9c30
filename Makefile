# kerascraft: `make demo` and `make test` set up everything they need on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Python the environment is made from, and where the environment lives: reticulate's
# virtualenv root, under the name the R package looks for (r-kerascraft).
PYTHON    ?= /usr/bin/python3.11
VENV_ROOT ?= $(if $(WORKON_HOME),$(WORKON_HOME),$(HOME)/.virtualenvs)
VENV      ?= $(VENV_ROOT)/r-kerascraft
VPY       := $(VENV)/bin/python
STAMPS    := .make
PIP       := $(VPY) -m pip install -q --disable-pip-version-check
# pip's notes about a machine's missing local package folders are noise here
QUIET_PIP := 2>&1 | { grep -v 'is neither a file nor a directory' || true; }; exit $${PIPESTATUS[0]}

PY_SRC := pyproject.toml $(shell find inst/python -name '*.py')
R_SRC  := DESCRIPTION NAMESPACE $(wildcard R/*.R) $(shell find inst man vignettes -type f -not -path '*/__pycache__/*' -not -name '*.egg-info' 2>/dev/null)
VERSION := $(shell sed -n 's/^Version: //p' DESCRIPTION)

.PHONY: help install system system-test test test-python test-r demo docs check clean

help:
	@echo "make demo     set up what is missing, then craft() on bundled digits data from R"
	@echo "make test     set up what is missing, then run the whole test suite"
	@echo "make install  only the set-up (Debian packages, Python environment, R package)"
	@echo "make docs     regenerate roxygen docs and build the vignettes"
	@echo "make check    R CMD build + R CMD check --no-manual"

install: system $(VENV)/.kerascraft-requirements $(VENV)/.kerascraft-core $(STAMPS)/rpkg

system:
	@tools/install-system.sh

system-test:
	@tools/install-system.sh --test

# The pinned stack; redone when a requirements file changes.
$(VENV)/.kerascraft-requirements: inst/python/requirements.txt requirements-dev.txt | system
	@echo "kerascraft: installing the pinned Python stack into $(VENV)"
	@[ -x $(VPY) ] || $(PYTHON) -m venv $(VENV)
	@$(PIP) -r requirements-dev.txt $(QUIET_PIP)
	@cat $^ > $@

# The Python core, for Python users of the environment (R loads it from the R package).
$(VENV)/.kerascraft-core: $(PY_SRC) $(VENV)/.kerascraft-requirements
	@echo "kerascraft: installing the Python core"
	@$(PIP) --no-deps . $(QUIET_PIP)
	@rm -rf build inst/python/*.egg-info
	@touch $@

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
test: install system-test
	$(VPY) -m pytest tests/python
	KERAS_BACKEND=jax $(VPY) -m pytest tests/python
	$(VPY) -m pytest tests/bridge
	Rscript tools/run-testthat.R

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

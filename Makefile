# `make book` and `make test` set everything up on a fresh machine with Python 3.10+.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Installs into $(VENV) with uv when uv could be had (the version constraints.txt pins), else with pip:
# the same packages from the same pyproject.toml and constraints.txt, in 40-64 s against pip's 87 s
# for a fresh environment on 2 cores (2026-12-04). --compile-bytecode writes the .pyc files at
# install time, as pip does: where PYTHONDONTWRITEBYTECODE is set (these machines), nothing else
# would, and every process would compile torch's modules again (a notebook kernel's imports:
# 11 s against 5 s). uv reads neither pip.conf nor PIP_* settings: where it cannot reach the
# index, pip installs instead.
UV := $(VENV)/bin/uv
INSTALL = { [ -x $(UV) ] && $(UV) pip install --quiet --compile-bytecode --python $(PY) -c constraints.txt $(1); } \
	|| { echo "uv did not install $(1): pip installs it"; $(PY) -m pip install --quiet -c constraints.txt $(1); }
export MPLBACKEND ?= Agg
export GENAE_CACHE ?= $(CURDIR)/.cache/models

.PHONY: book test lint clean publish student reference

$(PY):
	$(PYTHON) -m venv $(VENV)

# Once per environment; where it fails, INSTALL uses pip.
$(UV): | $(PY)
	-$(PY) -m pip install --quiet -c constraints.txt uv 2>/dev/null

$(VENV)/.installed-book: pyproject.toml constraints.txt | $(UV)
	$(call INSTALL,-e '.[book]')
	@touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(UV)
	$(call INSTALL,-e '.[test]')
	@touch $@

$(VENV)/.installed-classroom: pyproject.toml constraints.txt | $(UV)
	$(call INSTALL,-e '.[classroom]')
	@touch $@

book: $(VENV)/.installed-book
	$(VENV)/bin/jupyter-book build --all -W -n --keep-going book/

# The book is built first, and that build is the one execution of every notebook (two at a time on
# 2 cores, book/_ext/execute_ahead.py: 245 s against 334 s one at a time): the tests marked
# `book` read it (its jupyter-cache: tests/test_executed_notebooks.py checks no cell raised and each cell
# marked NBVAL_CHECK_OUTPUT printed what the committed notebook shows, by nbval's comparison; its pages,
# in Chromium; the models it trained). GENAE_REQUIRE_BOOK=1: a missing build fails them. Then pytest in
# one process on one torch thread, while the regeneration of stored results runs beside it on the
# other core (tests/background_runs.py): 236-283 s in fresh clones, against 308 s on two xdist workers
# (which share the cores with the subprocesses the tests start). Running the build and the tests side by side was
# measured slower: 880 s against 847 s.
test: $(VENV)/.installed-test book
	$(PY) -m ruff check genae tests benchmarks reference
	OMP_NUM_THREADS=1 GENAE_REQUIRE_BOOK=1 $(PY) -m pytest tests

lint: $(VENV)/.installed-test
	$(PY) -m ruff check genae tests benchmarks reference

# The stored results behind chapters 9, 10 and 11 (genae/stored/: ch09*.csv/json, ch09_checks.*, ch10.*),
# package data that pip install ships, and the landing page's figure and summary: 200-D models of the four
# kinds, 8 seeds, two training lengths, the chains, the referee's checks, the other samplers. Measured on 2
# cores: ch09 4,083 s, ch09_checks 761 s, ch10 702 s (shared with other work); rerun it after any change to
# the trainer, the models or the measurements, and commit what it writes.
reference: $(VENV)/.installed-test
	$(PY) reference/ch09.py
	$(PY) reference/ch09_checks.py --workers 2
	$(PY) reference/ch10.py --seeds 0 1 2
	$(PY) book/landing_figure.py

publish: book
	$(VENV)/bin/ghp-import -n -p -f book/_build/html

# Student copies of every notebook (solutions stubbed, outputs cleared) in $(STUDENT_DIR)/notebooks/, by nbgrader.
STUDENT_DIR ?= student
student: $(VENV)/.installed-classroom
	cd classroom && $(abspath $(VENV))/bin/nbgrader generate_assignment notebooks --no-db --force \
		--CourseDirectory.release_directory=$(abspath $(STUDENT_DIR))

clean:
	rm -rf book/_build .pytest_cache

# Chapter 7's explorer runs the four quick models in the reader's browser: export them to ONNX
# (genae/export.py) from the model cache, training them when missing, into book/_vendor/explorer/models
# (served as _static/explorer/models, not committed). Nothing is written when the models are unchanged.
.PHONY: explorer-models
book: explorer-models
explorer-models: $(VENV)/.installed-book
	$(PY) -m genae.export book/_vendor/explorer/models

# The two commands of the README. Each creates the virtual environment on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: grade test

# Grade submissions/20163140 and write reports/ (results.json, junit.xml, report.html, index.html).
grade: $(STAMP)
	$(BIN)/autograde submissions/20163140 $(ARGS)

# Run every test of the harness (the graded suites run inside them, against known submissions).
test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Two commands set everything up on a fresh machine: `make site` and `make test`.
PYTHON ?= python3
# Material 9.7+ prints a banner about "MkDocs 2.0" on every build; we pin mkdocs<2 on purpose.
export NO_MKDOCS_2_WARNING := 1
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: site test serve check clean

# (Re)install when the package metadata changes.
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

## site: install, check the sample knowledge base, build the site into site/
site: $(INSTALLED)
	$(BIN)/kb check
	$(BIN)/mkdocs build --strict

## test: install if needed, check the layers of the package, run the whole test suite
## (pytest exit code 5, "no tests", fails too)
test: $(INSTALLED)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

## serve: live preview on http://127.0.0.1:8000/
serve: $(INSTALLED)
	$(BIN)/mkdocs serve

check: $(INSTALLED)
	$(BIN)/kb check

clean:
	rm -rf site .pytest_cache

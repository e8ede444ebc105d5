# Two commands set everything up on a fresh machine: `make site` and `make test`.
PYTHON ?= python3
# Material 9.7+ prints a banner about "MkDocs 2.0" on every build; we pin mkdocs<2 on purpose.
export NO_MKDOCS_2_WARNING := 1
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: site test serve check clean

# (Re)install when the package metadata changes. The full set: the core, the site builders (MkDocs and
# ProperDocs, Material, Pagefind) and the test tools; `pip install incidentkb` alone is the core (pyproject.toml).
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[site,properdocs,test]'
	touch $(INSTALLED)

## site: install, check the sample knowledge base, build the site into site/ (ProperDocs; KB_ENGINE=mkdocs for MkDocs)
site: $(INSTALLED)
	$(BIN)/kb build

## test: install if needed, check the layers of the package, run the whole test suite
## (pytest exit code 5, "no tests", fails too)
test: $(INSTALLED)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

## serve: live preview on http://127.0.0.1:8000/
serve: $(INSTALLED)
	$(BIN)/kb serve

check: $(INSTALLED)
	$(BIN)/kb check

clean:
	rm -rf site .pytest_cache

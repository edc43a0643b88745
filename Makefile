# lenssbi: make demo (main job), make test (the tests). See README.md.
SHELL := /bin/bash
export GOEXPERIMENT := simd
GO ?= go
BIN := bin/lenssbi
SHARED ?= ../shared
DEMO_N ?= 1000

.PHONY: all build demo figures test vet fmt-check bench tables check-tables xla clean

all: build

build:
	$(GO) build -o $(BIN) ./pkg/cmd/lenssbi

## demo: simulate 1,000 DELVE lenses, summarise them, draw a contact sheet, and run the
## shipped realistic-depth joint model on them: results, calibration, figures (out/report).
demo: build
	@mkdir -p out
	$(BIN) simulate --preset delve --n $(DEMO_N) --seed 1 --size 48 --out out/demo.fits --force
	$(BIN) inspect out/demo.fits
	$(BIN) render out/demo.fits --out out/demo-grid.png --force
	@echo "contact sheet: out/demo-grid.png"
	$(BIN) report --model models/delve-joint --data out/demo.fits --samples 500 --out out/report --force
	@cat out/report/results.md
	@echo "report: out/report/index.html"

## figures: regenerate the README's figures from a make demo run.
figures: demo
	@mkdir -p data/figures
	cp out/demo-grid.png data/figures/demo-grid.png
	cp out/report/recovery.png data/figures/recovery.png
	cp out/report/coverage.png data/figures/coverage.png
	cp out/report/lens-0000-corner.png data/figures/corner.png

## test: formatting, vet and the whole Go test suite.
test: fmt-check vet
	$(GO) test -timeout 20m ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

## bench: simulator throughput (lenses/s) and the physics kernels.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./pkg/...

## tables: regenerate data/tables and data/presets from ../shared/data.
tables:
	$(GO) run ./pkg/cmd/gentables -shared $(SHARED) -out data/tables
	$(GO) run ./pkg/survey/internal/genpresets -shared $(SHARED) -out data/presets

## check-tables: fail if data/tables or data/presets differ from a fresh generation.
check-tables:
	$(GO) run ./pkg/cmd/gentables -shared $(SHARED) -out data/tables -check
	$(GO) run ./pkg/survey/internal/genpresets -shared $(SHARED) -out data/presets -check

## xla: install the XLA CPU PJRT plugin (lammps-jax-pjrt-cpu wheel) into .venv;
## afterwards --backend xla:cpu (or GOMLX_BACKEND=xla:cpu) uses it.
xla:
	@test -x .venv/bin/python || python3 -m venv .venv
	.venv/bin/python -m pip install -q lammps-jax-pjrt-cpu==0.11.2
	@echo "XLA CPU plugin installed in .venv: use --backend xla:cpu"

clean:
	rm -rf bin out

# Notebook targets.
#
#   make lab             JupyterLab in the repository with the Go (GoNB) kernel
#   make notebooks-test  execute every notebook headless (LENSSBI_QUICK=1), fail on
#                        any cell error or missing key output; committed notebooks
#                        are not modified (executed copies go to out/notebooks)
#   make notebooks       execute the notebooks at full size and save their outputs in place
#   make notebook-env    only install: venv packages, bin/gonb, bin/goimports, kernel spec
#   make browser-test    run notebooks/01-simulate.ipynb then 02-train.ipynb (quick mode) in
#                        one JupyterLab in headless Chromium (playwright-core from .ci/browser,
#                        Debian's /usr/bin/chromium): no cell errors, the gallery and figures
#                        rendered, the live loss plot redrawn while training runs; screenshots
#                        out/browser/{simulate,train-live,train}.png
#
# Everything lives in the repository: the Python tools in .venv, GoNB (the version
# pinned as a tool in go.mod) and goimports in bin/, the kernel spec in
# .venv/share/jupyter/kernels/gonb, so nothing touches ~/.local.

NB_VENV ?= .venv
NB_VENV_ABS := $(abspath $(NB_VENV))
NB_PY := $(NB_VENV)/bin/python
NB_PIP_PKGS := jupyterlab==4.6.6 nbclient==0.11.0 nbconvert==7.17.2 nbformat==5.11.1 ipykernel==7.4.0
GOIMPORTS_VERSION ?= v0.39.0
NB_KERNEL_DIR := $(NB_VENV)/share/jupyter/kernels/gonb
NB_DIRS := notebooks tutorials
NB_TIMEOUT ?= 1200
LAB_PORT ?= 8888
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
# The kernel and the tools it runs (go, goimports) must find bin/.
NB_ENV := PATH="$(CURDIR)/bin:$(NB_VENV_ABS)/bin:$$PATH" JUPYTER_PATH="$(NB_VENV_ABS)/share/jupyter" GOEXPERIMENT=simd

.PHONY: lab notebooks notebooks-test notebook-env browser-test

BROWSER_DIR := .ci/browser
CHROMIUM ?= /usr/bin/chromium

notebook-env: $(NB_VENV)/.notebook-tools $(NB_KERNEL_DIR)/kernel.json bin/goimports

$(NB_VENV)/.notebook-tools: Makefile
	test -x $(NB_PY) || python3 -m venv $(NB_VENV)
	$(NB_PY) -m pip install -q $(NB_PIP_PKGS)
	touch $@

bin/gonb: go.mod go.sum
	$(GO) build -o bin/gonb github.com/janpfeifer/gonb

# goimports is required by GoNB (it completes a cell's imports).
bin/goimports:
	GOBIN="$(CURDIR)/bin" $(GO) install golang.org/x/tools/cmd/goimports@$(GOIMPORTS_VERSION)

$(NB_KERNEL_DIR)/kernel.json: bin/gonb Makefile | $(NB_VENV)/.notebook-tools
	@mkdir -p $(NB_KERNEL_DIR)
	@printf '%s\n' '{' \
	  '  "argv": ["$(CURDIR)/bin/gonb", "--kernel", "{connection_file}", "--logtostderr"],' \
	  '  "display_name": "Go (gonb, lenssbi)",' \
	  '  "language": "go",' \
	  '  "interrupt_mode": "message",' \
	  '  "env": {"GOEXPERIMENT": "simd", "PATH": "$(CURDIR)/bin:$${PATH}"}' \
	  '}' > $@
	@echo "wrote $@"

lab: notebook-env
	$(NB_ENV) $(NB_VENV)/bin/jupyter lab --notebook-dir="$(CURDIR)" --port=$(LAB_PORT) $(LAB_FLAGS)

notebooks-test: notebook-env
	$(NB_ENV) LENSSBI_QUICK=1 $(NB_PY) notebooks/run_notebooks.py --timeout $(NB_TIMEOUT) --out out/notebooks $(NB_DIRS)

notebooks: notebook-env
	$(NB_ENV) $(NB_PY) notebooks/run_notebooks.py --timeout $(NB_TIMEOUT) --inplace $(NB_DIRS)

# npm ci writes node_modules/.package-lock.json: reinstall when the lock file changes.
$(BROWSER_DIR)/node_modules/.package-lock.json: $(BROWSER_DIR)/package-lock.json
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund

browser-test: notebook-env $(BROWSER_DIR)/node_modules/.package-lock.json
	CHROMIUM=$(CHROMIUM) node $(BROWSER_DIR)/notebook.mjs

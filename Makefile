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
## shipped joint model on 500 fresh delve-seed lenses: results, calibration, figures (out/report).
demo: build
	@mkdir -p out
	$(BIN) simulate --preset delve --n $(DEMO_N) --seed 1 --size 48 --out out/demo.fits --force
	$(BIN) inspect out/demo.fits
	$(BIN) render out/demo.fits --out out/demo-grid.png --force
	@echo "contact sheet: out/demo-grid.png"
	$(BIN) simulate --preset delve-seed --n 500 --seed 99 --out out/demo-seed.fits --force --quiet
	$(BIN) report --model models/delve-seed-joint --data out/demo-seed.fits --samples 500 --out out/report --force
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

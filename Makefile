# xyserve front door. Quick start: `make serve` (build + serve the default model) and `make test`.
SHELL := /bin/bash
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
FUZZ_DIR ?= build-fuzz
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 20
MODEL ?=
SERVE_FLAGS ?=
CMAKE_FLAGS ?=

.PHONY: all deps test-deps configure build build-server build-asan build-fuzz test unit-test asan-test fuzz-test serve bench-kernels format clean

all: build

deps:
	@scripts/install-deps.sh

# What the test suites need beyond the build: node/npm (OpenAI SDK, puppeteer-core), chromium,
# clang (libFuzzer).
test-deps:
	@scripts/install-deps.sh --test

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Only the server binary (about a third of `build`, which compiles every test and benchmark).
build-server: configure
	cmake --build $(BUILD_DIR) -j$(JOBS) --target xyserve

build-asan: deps test-deps
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DXYSERVE_SANITIZE=ON -DXYSERVE_BENCHMARKS=OFF
	cmake --build $(ASAN_DIR) -j$(JOBS)

build-fuzz: deps test-deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXYSERVE_FUZZ=ON
	cmake --build $(FUZZ_DIR) -j$(JOBS)

unit-test: build test-deps
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS)

asan-test: build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure -j$(JOBS) -E 'LongRunning'

fuzz-test: build-fuzz
	@scripts/run-fuzzers.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# The whole suite: fuzzers, the sanitizer build of the tests, then the Release build's unit and
# end-to-end tests (last, so CTest's summary closes the output).
test: fuzz-test asan-test unit-test

# The shipped trained model once it exists (models/), else a random-weight smollm2-135m.
DEFAULT_MODEL := $(if $(wildcard models/xy-target/config.json),models/xy-target,$(BUILD_DIR)/models/smollm2-135m-random)
SERVE_MODEL = $(or $(MODEL),$(DEFAULT_MODEL))

serve: build-server
	@if [ ! -f "$(SERVE_MODEL)/config.json" ]; then \
	  $(BUILD_DIR)/src/cli/xyserve make-model --preset smollm2-135m --out "$(SERVE_MODEL)"; fi
	$(BUILD_DIR)/src/cli/xyserve serve --model "$(SERVE_MODEL)" $(SERVE_FLAGS)

bench-kernels:
	@scripts/install-deps.sh --bench
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DXYSERVE_BENCHMARKS=ON
	cmake --build $(BUILD_DIR) -j$(JOBS)
	@scripts/bench_kernels.sh $(BUILD_DIR)

format:
	git ls-files '*.h' '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)

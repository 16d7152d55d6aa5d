# mamori: `make run` to try it, `make test` to test it. Both install any
# missing Debian packages first (scripts/deps.sh).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build build-quiet run test package bench bench-http soak sanitize tsan fuzz clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The daemon and the tool, built with the output kept in $(BUILD)/build.log
# and shown only when the build fails.
build-quiet: deps
	@mkdir -p $(BUILD)
	@echo "building mamorid and mamori (log: $(BUILD)/build.log) ..."
	@{ cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) && \
	   cmake --build $(BUILD) -j$(JOBS) --target mamorid mamori; } >$(BUILD)/build.log 2>&1 || \
	 { cat $(BUILD)/build.log; echo "the build failed (log: $(BUILD)/build.log)"; exit 1; }

run: build-quiet
	@scripts/run.sh $(BUILD)

test: build
	@ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

# The Debian package $(BUILD)/mamori_VERSION_ARCH.deb from the build, its
# unit verified with systemd-analyze and the package checked with lintian.
package: build-quiet
	@scripts/deps.sh package
	@deb=$$(/usr/bin/python3 scripts/build_deb.py --build-dir $(BUILD) --verify-unit) && \
	 lintian --fail-on error --display-info "$$deb" && echo "$$deb"

# ASan + UBSan build and test run in build-sanitize/.
sanitize:
	@$(MAKE) test BUILD=build-sanitize CMAKE_FLAGS="-DMAMORI_SANITIZE=address,undefined -DMAMORI_BENCH=OFF"

# ThreadSanitizer build and test run in build-tsan/ (a data race fails the test).
tsan:
	@$(MAKE) test BUILD=build-tsan CMAKE_FLAGS="-DMAMORI_SANITIZE=thread -DMAMORI_BENCH=OFF"

# libFuzzer targets (fuzz/, clang with ASan + UBSan) built in build-fuzz/ and
# run FUZZ_SECONDS each (FUZZ_TARGETS: a subset); fuzz/run.sh says more.
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/deps.sh fuzz
	@cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DMAMORI_FUZZ=ON -DBUILD_TESTING=OFF \
	  -DMAMORI_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build-fuzz --target fuzzers -j$(JOBS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh build-fuzz

bench: build
	@bench/run.sh $(BUILD)

# HTTP load against nginx on the same cores (installs nginx-light and wrk).
bench-http: build
	@bench/http.sh $(BUILD)

# Soak (not part of test): 30 minutes of mixed load with kill -9 every 2-4
# minutes against the Release build in build-release/, every acknowledged
# write checked; SOAK_ARGS=--short for 3 minutes.
SOAK_BUILD ?= build-release
soak: deps
	@bench/soak.sh $(SOAK_ARGS) $(SOAK_BUILD)

clean:
	rm -rf $(BUILD) build-sanitize build-tsan build-fuzz

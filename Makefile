# SPDX-License-Identifier: GPL-2.0
# rust_trace: out-of-tree module build, plus the project's entry points.
#
#   make                 build rust_trace.ko against KDIR (default: the cached
#                        guest kernel if built, else the running kernel)
#   make CLIPPY=1        the same, linted with clippy
#   make rustfmt-check   rustfmt check of the module sources
#   make clean
#   make demo            README command 1: set up, build, boot, capture, show
#   make check           README command 2: every test (host + guest kselftests)
#   make bench           the benchmark against ftrace (when present)

SHELL := /bin/bash
KDIR ?= $(shell tools/kdir.sh 2>/dev/null || echo /lib/modules/$$(uname -r)/build)
BINDGEN ?= $(shell . tools/env.sh && echo $$RUST_TRACE_BINDGEN)
RUST_MAKEVARS := LLVM=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
	HOSTRUSTC=/usr/bin/rustc BINDGEN=$(BINDGEN)
ifeq ($(CLIPPY),1)
RUST_MAKEVARS += CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver
endif
MODULE_RS := rust_trace.rs bufpool.rs chardev.rs filter.rs flight.rs format.rs helpers.rs microbench.rs pidset.rs probes.rs session.rs trigger.rs

.PHONY: modules clean rustfmt-check rustfmt demo check soak bench setup kernel

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(RUST_MAKEVARS) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(RUST_MAKEVARS) clean
	rm -rf build

rustfmt-check:
	/usr/bin/rustfmt --edition 2021 --config-path $(KDIR)/source/.rustfmt.toml --check $(MODULE_RS)

rustfmt:
	/usr/bin/rustfmt --edition 2021 --config-path $(KDIR)/source/.rustfmt.toml $(MODULE_RS)

setup:
	tools/setup.sh

kernel: setup
	tools/build-kernel.sh >/dev/null

demo:
	tools/demo.sh

check:
	tools/check.sh

soak:
	RUST_TRACE_SOAK=1 SMP_LIST=2 tools/check.sh

bench:
	tools/bench.sh

#!/usr/bin/env bash
# Prints the KDIR of the cached guest kernel of the current flavour (DEBUG=1
# for the debug one); fails if it is not built.
source "$(dirname "$0")/env.sh"
k=$(rust_trace_kdir)
[ -f "$k/.rt-built" ] && echo "$k"

"""scripts/bench: the benchmark of heasarcfs against a shaped local HEASARC (see scripts/bench)."""

"""Benchmarks: `make bench-*`; they print and write JSON, they never assert."""

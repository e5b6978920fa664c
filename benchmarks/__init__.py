"""Benchmark scripts for genie-audio (run as `python -m benchmarks.<name>`)."""

"""Speed and memory benchmarks for genie-audio (run as `python benchmarks/<name>.py`; README.md lists them)."""

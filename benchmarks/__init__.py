"""Performance benchmarks (not timed tests): ``python -m benchmarks --help``."""

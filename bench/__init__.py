"""`python -m bench`: chorus-bot against a bare-Playwright floor, on the mock portal.

See bench/harness.py for what is measured and docs/benchmarks.md for the latest results.
"""

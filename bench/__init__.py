"""The board's benchmark: seed a board to N comments, serve it with gunicorn, drive it with wrk.

Run it with `.venv/bin/python -m bench.run --help`; docs/benchmarks.md holds the latest table.
"""

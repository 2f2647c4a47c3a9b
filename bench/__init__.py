"""Benchmarks of Manafidh: each module runs with one command and prints its figures.

The package marker lets uvicorn import ``bench.clearance:app_factory`` in the HTTP server.
"""

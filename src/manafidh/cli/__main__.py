"""``python -m manafidh.cli``."""

from manafidh.cli.main import app

app()

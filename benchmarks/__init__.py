"""Speed targets. Each ``*_bench.py`` module exposes ``run(smoke: bool) -> list[str]``."""

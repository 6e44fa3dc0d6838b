"""Fixtures of the model tests: the tiny checkpoints (tests/models/tiny.py)."""

from tests.models.tiny import shared_budget, tiny_config, tiny_models_dir  # noqa: F401

"""Fixtures of the generation tests: the tiny checkpoints, and the in-process OSC server."""

from tests.models.tiny import shared_budget, tiny_config, tiny_models_dir  # noqa: F401
from tests.osc_client import osc_server  # noqa: F401

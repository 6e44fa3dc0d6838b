"""Fixtures of the orchestrator tests: the loopback stand-in for an LLM server."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.orchestrator.llm_standin import LlmStandIn


@pytest.fixture
def llm() -> Iterator[LlmStandIn]:
    """A stand-in Ollama / OpenAI-compatible server on loopback (see `llm_standin.py`)."""
    server = LlmStandIn()
    try:
        yield server
    finally:
        server.close()

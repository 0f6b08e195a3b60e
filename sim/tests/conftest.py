"""Fixtures: one simulator process per provider for the whole session.

`reset` clears the journal and fault queue before every test, so tests stay
independent while sharing processes.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sim_harness import Sim  # noqa: E402


def _sim_fixture(provider: str):
    @pytest.fixture(scope="session")
    def fixture():
        sim = Sim(provider)
        yield sim
        sim.stop()

    return fixture


openai_sim_proc = _sim_fixture("openai")
anthropic_sim_proc = _sim_fixture("anthropic")
gemini_sim_proc = _sim_fixture("gemini")


@pytest.fixture
def openai_sim(openai_sim_proc):
    openai_sim_proc.reset()
    return openai_sim_proc


@pytest.fixture
def anthropic_sim(anthropic_sim_proc):
    anthropic_sim_proc.reset()
    return anthropic_sim_proc


@pytest.fixture
def gemini_sim(gemini_sim_proc):
    gemini_sim_proc.reset()
    return gemini_sim_proc

"""Fixtures for the node agent tests (snapshot builders live in snapshot_builders.py: a module name
of its own, so it never collides with another conftest when the whole repository runs in one session)."""

import pytest


@pytest.fixture
def examples_dir() -> str:
    import pathlib

    return str(pathlib.Path(__file__).resolve().parents[1] / "examples")

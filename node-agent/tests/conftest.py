"""Fixtures for the node agent tests (snapshot builders live in snapshot_builders.py: a module name
of its own, so it never collides with another conftest when the whole repository runs in one session)."""

from pathlib import Path

import pytest


@pytest.fixture
def examples_dir() -> str:
    import pathlib

    return str(pathlib.Path(__file__).resolve().parents[1] / "examples")



@pytest.fixture(autouse=True)
def _emulated_nvml_teardown():
    """Closes the readers and takes out the emulated libraries a test opened (see emulated.py)."""
    import emulated

    yield
    emulated.teardown()


@pytest.fixture
def libnvml():
    """`libnvml(state, **options)`: `emulated.emulate`, for tests that prefer a fixture."""
    import emulated

    return emulated.emulate


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    """A service-account token file as the agent reads it (the API server tests' `token-1`)."""
    path = tmp_path / "token"
    path.write_text("token-1\n")
    return path

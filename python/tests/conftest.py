"""Fixtures for driving the Lancelet CLI binary (found through $LANCELET_BIN)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


class LanceletError(AssertionError):
    """The Lancelet CLI exited with a non-zero status."""


@pytest.fixture(scope="session")
def lancelet_bin():
    """Path to the Lancelet CLI; fails (never skips) when $LANCELET_BIN is unset or unusable."""
    path = os.environ.get("LANCELET_BIN")
    if not path:
        pytest.fail("LANCELET_BIN is not set: point it at the Lancelet CLI binary", pytrace=False)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"LANCELET_BIN={path!r} is not an executable file", pytrace=False)
    return path


@pytest.fixture(scope="session")
def run_lancelet(lancelet_bin):
    """Run the CLI with the given arguments; raise LanceletError (with stderr) on failure.

    With expect_failure=True the call must exit with status 1 and an `error:` message;
    the CompletedProcess is returned either way.
    """

    def run(*args, expect_failure=False, timeout=60):
        cmd = [lancelet_bin, *map(str, args)]
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
        stderr = proc.stderr.decode(errors="replace")
        if expect_failure:
            assert proc.returncode == 1, (
                f"expected exit code 1 from {cmd}, got {proc.returncode}\nstderr:\n{stderr}"
            )
            assert stderr.startswith("error:") or "\nerror:" in stderr, f"no error message:\n{stderr}"
            assert "panicked" not in stderr and "RUST_BACKTRACE" not in stderr, f"crashed:\n{stderr}"
        elif proc.returncode != 0:
            raise LanceletError(f"{' '.join(cmd)} exited with {proc.returncode}\nstderr:\n{stderr}")
        return proc

    return run


@pytest.fixture(scope="session")
def inspect_json(run_lancelet):
    """`lancelet inspect FILE --json`, parsed."""

    def inspect(path):
        return json.loads(run_lancelet("inspect", path, "--json").stdout)

    return inspect

"""The pylance-made files under rust/lancelet/tests/data (which the Rust hostile-input tests
damage) hold what scripts/make_pylance_fixtures.py wrote, and Lancelet reads them exactly."""

import importlib.util
from pathlib import Path

import pytest
from helpers import assert_tables_equal, pylance_read

import lancelet

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "make_pylance_fixtures.py"


def _script():
    spec = importlib.util.spec_from_file_location("make_pylance_fixtures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("version", ["2.0", "2.1", "2.2"])
def test_fixture_reads_as_written(version):
    path = ROOT / "rust" / "lancelet" / "tests" / "data" / f"pylance_{version.replace('.', '_')}.lance"
    expected = _script().table(version)
    assert_tables_equal(pylance_read(path), expected)
    assert_tables_equal(lancelet.FileReader(path).read_all().to_table(), expected)
    meta = lancelet.FileReader(path).metadata()
    assert meta.version == version

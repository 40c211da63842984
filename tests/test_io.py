"""Atomic writes: a failure mid-write leaves the old file and no temp file."""

import pytest

from chipmix.io import atomic_path, write_text


def test_write_replaces(tmp_path):
    target = tmp_path / "plan.json"
    write_text(target, "old")
    write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_failure_keeps_old_file(tmp_path):
    target = tmp_path / "plan.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]

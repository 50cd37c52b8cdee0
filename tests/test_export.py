"""Run-directory writes are atomic: a failure mid-write leaves no file that looks whole."""

from __future__ import annotations

import pandas as pd
import pytest

import boosttune as bt
from boosttune.io.atomic import write_atomic


def test_failed_write_leaves_neither_file_nor_temporary(tmp_path):
    target = tmp_path / "oof.parquet"

    def half_then_crash(tmp):
        tmp.write_bytes(b"PAR1 half a file")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, half_then_crash)
    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_keeps_the_previous_complete_file(tmp_path):
    target = tmp_path / "params.json"
    write_atomic(target, lambda tmp: tmp.write_text('{"a": 1}'))

    def crash(tmp):
        tmp.write_text('{"a": ')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, crash)
    assert target.read_text() == '{"a": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["params.json"]


def test_loading_an_incomplete_run_directory_is_explained(tmp_path):
    pd.DataFrame({"row": [0]}).to_parquet(tmp_path / "oof.parquet")
    with pytest.raises(bt.BoostTuneError, match="not a finished run directory"):
        bt.TuneResult.load(tmp_path)

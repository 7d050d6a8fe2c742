"""distill.assembly.warm.committing: a staged layer compressed beside the outputs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from distill.assembly.warm import PendingLayer, committing
from distill.errors import DistillError
from distill.layers.store import StagedLayer


def _pending(tmp_path: Path, finish_error: BaseException | None,
             recorded: list[str]) -> PendingLayer:
    staged = StagedLayer(key="ab" * 32, tar=tmp_path / "staged.tar", diff_id="sha256:" + "0" * 64,
                         size=0)

    class Pending(PendingLayer):
        def finish(self) -> None:
            if finish_error is not None:
                raise finish_error
            recorded.append("finished")

    return Pending((staged,), lambda layers: None)


def test_the_pending_layer_is_finished_by_the_end_of_the_block(tmp_path: Path) -> None:
    recorded: list[str] = []
    with committing(_pending(tmp_path, None, recorded)):
        pass
    assert recorded == ["finished"]


def test_its_failure_is_raised_after_the_block(tmp_path: Path) -> None:
    done: list[str] = []
    with pytest.raises(DistillError, match="store full"), \
            committing(_pending(tmp_path, DistillError("store full"), [])):
        done.append("outputs written")
    assert done == ["outputs written"]


def test_a_failure_of_the_block_wins(tmp_path: Path) -> None:
    with pytest.raises(KeyError), committing(_pending(tmp_path, DistillError("store full"), [])):
        raise KeyError("the output failed")


def test_nothing_pending_is_a_plain_block() -> None:
    with committing(None):
        pass



def test_the_staged_tar_outlives_the_commit_until_the_block_ends(tmp_path: Path) -> None:
    pending = _pending(tmp_path, None, [])
    tar = pending.staged[0].tar
    tar.write_bytes(b"tar")
    with committing(pending):
        time.sleep(0.05)  # the commit has finished meanwhile
        assert tar.read_bytes() == b"tar"  # a sink opening it late still can
    assert not tar.exists()

"""Files the registry client writes appear whole or not at all, flushed or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.transports.registry.files import replacing


@pytest.mark.parametrize("durable", [True, False])
def test_a_replaced_file_appears_whole(tmp_path: Path, durable: bool) -> None:
    target = tmp_path / "blobs" / "blob"
    with replacing(target, durable=durable) as out:
        out.write(b"first part, ")
        assert not target.exists()  # nothing under the name until the rename
        out.write(b"second part")
    assert target.read_bytes() == b"first part, second part"
    assert [p.name for p in target.parent.iterdir()] == ["blob"]


@pytest.mark.parametrize("durable", [True, False])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path,
                                                            durable: bool) -> None:
    target = tmp_path / "blob"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), replacing(target, durable=durable) as out:
        out.write(b"half of the new")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["blob"]

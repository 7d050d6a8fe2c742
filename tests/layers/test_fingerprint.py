"""Layer-store cache keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from distill.layers import fingerprint
from distill.layers.fingerprint import cache_key, code_fingerprint


def test_keys_are_store_keys_and_depend_on_every_input() -> None:
    key = cache_key(kind="app", tree="abc")
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert cache_key(kind="app", tree="abc") == key
    assert cache_key(tree="abc", kind="app") == key
    assert cache_key(kind="app", tree="abd") != key
    assert cache_key(kind="packages", tree="abc") != key
    assert cache_key(kind="app", tree="abc", extra=[1]) != key


def test_non_json_values_are_accepted() -> None:
    assert cache_key(path=Path("/x")) == cache_key(path="/x")


def test_a_changed_distill_changes_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", code_fingerprint())
    key = cache_key(kind="app", tree="abc")
    monkeypatch.setattr(fingerprint, "code_fingerprint", lambda: "0" * 64)
    assert cache_key(kind="app", tree="abc") != key

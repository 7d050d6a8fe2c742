"""Go modules written by tests, and a PATH that lacks chosen tools (to meet the errors of a
machine without them, with the real tools everywhere else)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HELLO = """package main

import "fmt"

var version = "dev"

func main() { fmt.Println("hello", version) }
"""
BROKEN = """package main

func main() {
\tunused := 1
\tmissing()
}
"""
SQLITE = """package main

/*
#cgo LDFLAGS: -lsqlite3
#include <sqlite3.h>
*/
import "C"
import "fmt"

func main() { fmt.Println("sqlite", C.GoString(C.sqlite3_libversion())) }
"""


def write_module(folder: Path, sources: dict[str, str],
                 module: str = "example.com/hello") -> Path:
    """A Go module in ``folder``: go.mod and ``sources`` (relative path -> text)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "go.mod").write_text(f"module {module}\n\ngo 1.19\n", encoding="utf-8")
    for name, text in sources.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def hide_tools(folder: Path, monkeypatch: pytest.MonkeyPatch, *hidden: str) -> None:
    """Make PATH one ``folder`` of links to every program on it except ``hidden``."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in os.environ["PATH"].split(os.pathsep):
        directory = Path(entry)
        if not directory.is_dir():
            continue
        for tool in directory.iterdir():
            link = folder / tool.name
            if tool.name not in hidden and not link.exists() and os.access(tool, os.X_OK):
                link.symlink_to(tool)
    monkeypatch.setenv("PATH", str(folder))

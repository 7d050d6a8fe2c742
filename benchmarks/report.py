"""Where results go: the terminal, benchmarks/results/*.json and BENCHMARKS.md.

Each module's section of BENCHMARKS.md sits between two markers, so running one
module (``run.py --only NAME``) rewrites its own section and keeps the others.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from common import REPO, Section

RESULTS = REPO / "benchmarks" / "results"
MARKDOWN = REPO / "BENCHMARKS.md"

_HEADER = """# Benchmarks

Measured side by side with the peers, in one run on one machine, and reported as
ratios. Every figure below was written by the benchmark run itself; reproduce it with

    make bench                                   # every module
    .venv/bin/python benchmarks/run.py           # the same
    .venv/bin/python benchmarks/run.py --only foundation   # one module: its section only

The run starts a Docker engine when none answers (scripts/with-docker-engine) and
writes its raw figures to `benchmarks/results/NAME-TIME.json` (not committed). Each
section names the machine and its load average before and after: the machine is
shared, and work running beside a benchmark slows every contender.
"""


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": _memory(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "docker engine": _first_line(["docker", "version", "--format", "{{.Server.Version}}"]),
        "docker client": _first_line(["docker", "version", "--format", "{{.Client.Version}}"]),
        "mmdebstrap": _first_line(["mmdebstrap", "--version"]).removeprefix("mmdebstrap "),
        "go": _first_line(["go", "version"]).removeprefix("go version "),
        "images in the engine": str(len(_first_line(["docker", "image", "ls", "-aq"],
                                                    whole=True).split())),
        "distill commit": _first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
    }


def load_average() -> str:
    """The machine's load average over the last minute (other work skews timings)."""
    return f"{os.getloadavg()[0]:.1f}"


def _first_line(cmd: list[str], *, whole: bool = False) -> str:
    """The first line of ``cmd``'s output (all of it with ``whole``), or why there is none."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError:
        return "not installed"
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return "unknown"
    return done.stdout if whole else lines[0]


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or "unknown"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else "unknown"


def _memory() -> str:
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    found = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return f"{int(found.group(1)) / (1 << 20):.1f} GiB" if found else "unknown"


def print_section(section: Section) -> None:
    """Show a section's tables and targets on stdout (run.py's only printing)."""
    print(f"\n== {section.title}")
    for table in section.tables:
        print("\n" + table.text())
    print("\nTargets:")
    for target in section.targets:
        print(f"  [{'met' if target.met else 'NOT met'}] {target.goal}: {target.measured}")


def write_json(section: Section, box: Mapping[str, str]) -> Path:
    """Write the section's raw figures to benchmarks/results/NAME-TIME.json; return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{section.name}-{stamp}.json"
    data: dict[str, Any] = {
        "name": section.name, "machine": dict(box), "raw": section.raw,
        "targets": [vars(target) for target in section.targets],
        "tables": [{"title": t.title, "headers": t.headers, "rows": t.rows}
                   for t in section.tables],
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def update_markdown(section: Section, box: Mapping[str, str], *, command: str) -> None:
    """Replace (or append) the section's part of BENCHMARKS.md."""
    text = MARKDOWN.read_text(encoding="utf-8") if MARKDOWN.exists() else _HEADER
    begin, end = f"<!-- bench:{section.name}:begin -->", f"<!-- bench:{section.name}:end -->"
    block = f"{begin}\n{_section_markdown(section, box, command=command)}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    MARKDOWN.write_text(text, encoding="utf-8")


def _section_markdown(section: Section, box: Mapping[str, str], *, command: str) -> str:
    lines = [f"## {section.title}", "", f"Reproduce: `{command}` (or `make bench`, every module)",
             "",
             "Machine: " + "; ".join(f"{key} {value}" for key, value in box.items()), "",
             "### Targets", "", "| target | measured | met |", "| --- | --- | --- |"]
    lines += [f"| {t.goal} | {t.measured} | {'yes' if t.met else '**no**'} |"
              for t in section.targets]
    for table in section.tables:
        lines += ["", table.markdown()]
    if section.notes:
        lines += ["", "### How it was measured", "", *(f"- {note}" for note in section.notes)]
    return "\n".join(lines)

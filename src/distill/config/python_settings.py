"""distill.yaml's ``python:`` key: what the python3 flavor's standard library carries.

Its own module because schema.py is at the size limit; the model has the same
settings as schema.py's (unknown keys are errors, frozen, kebab-case keys).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Bytecode = Literal["both", "pyc", "sources"]


class Python(BaseModel):
    """Python settings of the python3 flavor and Python apps."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              alias_generator=lambda name: name.replace("_", "-"))

    bytecode: Bytecode = "pyc"
    """The standard library's compiled modules: ``pyc`` (sourceless, the default: as
    small as the sources, tracebacks lose stdlib lines), ``both`` (pycs beside the
    sources, about 10 MB more) or ``sources`` (no pycs: every start compiles).
    Apps keep their sources beside their pycs unless ``sources``."""

"""distill.yaml: its schema (:mod:`.schema`), reading it (:mod:`.loading`) and the one-line
messages that name what is wrong (:mod:`.messages`)."""

from distill.config.loading import load_config, parse_config
from distill.config.schema import (
    ARCHS,
    MAX_CONFIG_BYTES,
    MAX_NESTING,
    RELEASES,
    Accounts,
    App,
    Config,
    FileCopy,
    Group,
    Healthcheck,
    PathEntry,
    Repository,
    User,
    json_schema,
)
from distill.config.values import parse_duration

__all__ = [
    "ARCHS",
    "MAX_CONFIG_BYTES",
    "MAX_NESTING",
    "RELEASES",
    "Accounts",
    "App",
    "Config",
    "FileCopy",
    "Group",
    "Healthcheck",
    "PathEntry",
    "Repository",
    "User",
    "json_schema",
    "load_config",
    "parse_config",
    "parse_duration",
]

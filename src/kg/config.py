"""One table of settings: name, default, help. It feeds the CLI flags, the ``KG_*``
environment variables and the README, so a setting is declared once.

Precedence: a flag given on the command line (or a key in the mapping passed to
``create_app``), then the environment variable ``KG_<NAME>``, then the default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Setting:
    """One configurable value."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env_var(self) -> str:
        """The environment variable that sets it when no flag does."""
        return "KG_" + self.name.upper()

    @property
    def flag(self) -> str:
        """The command-line flag that sets it."""
        return "--" + self.name.replace("_", "-")


def _optional_path(value: str) -> Path | None:
    return Path(value).expanduser() if value else None


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", None,
            "Directory of a persistent on-disk store. Unset: an in-memory store filled "
            "from the bundled files at every start.", _optional_path),
    Setting("bundle_dir", None,
            "Directory holding the bundled ontology/ and data/ folders. Unset: the "
            "files shipped with the package.", _optional_path),
)


@dataclass(frozen=True)
class Config:
    """The resolved settings, immutable once built."""

    data_dir: Path | None = None
    bundle_dir: Path | None = None

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> "Config":
        """Resolve every setting: ``overrides`` (flags), then ``KG_*`` variables, then defaults.

        Overrides whose value is None count as not given.

        >>> Config.load({"data_dir": None}, environ={"KG_DATA_DIR": "/tmp/x"}).data_dir
        PosixPath('/tmp/x')
        """
        environ = os.environ if environ is None else environ
        overrides = dict(overrides or {})
        unknown = set(overrides) - {setting.name for setting in SETTINGS}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        values = {}
        for setting in SETTINGS:
            if overrides.get(setting.name) is not None:
                value = overrides[setting.name]
                values[setting.name] = setting.parse(value) if isinstance(value, str) else value
            elif environ.get(setting.env_var):
                values[setting.name] = setting.parse(environ[setting.env_var])
            else:
                values[setting.name] = setting.default
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain values, for display."""
        return {field.name: getattr(self, field.name) for field in fields(self)}

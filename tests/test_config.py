"""Settings: flags, then KG_* environment variables, then defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kg.config import SETTINGS, Config


def test_the_table_and_the_config_declare_the_same_settings_and_defaults():
    # the defaults are written twice (the table for flags, variables and docs; the frozen
    # dataclass for its fields): a default changed in one place only fails here
    assert [field.name for field in dataclasses.fields(Config)] == [s.name for s in SETTINGS]
    assert Config() == Config.load({}, environ={})


def test_environment_is_the_fallback_and_flags_win():
    environ = {"KG_DATA_DIR": "/from/env"}
    assert Config.load({}, environ=environ).data_dir == Path("/from/env")
    assert Config.load({"data_dir": "/from/flag"}, environ=environ).data_dir == Path("/from/flag")


def test_unknown_setting_is_refused():
    with pytest.raises(TypeError, match="no_such"):
        Config.load({"no_such": 1}, environ={})

"""Settings: flags, then KG_* environment variables, then defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.config import SETTINGS, Config


def test_defaults_need_no_configuration():
    config = Config.load({}, environ={})
    assert all(getattr(config, s.name) == s.default for s in SETTINGS)


def test_environment_is_the_fallback_and_flags_win():
    environ = {"KG_DATA_DIR": "/from/env"}
    assert Config.load({}, environ=environ).data_dir == Path("/from/env")
    assert Config.load({"data_dir": "/from/flag"}, environ=environ).data_dir == Path("/from/flag")


def test_unknown_setting_is_refused():
    with pytest.raises(TypeError, match="no_such"):
        Config.load({"no_such": 1}, environ={})

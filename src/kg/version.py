"""The version of kg, on the bottom floor: the settings name it in the User-Agent."""

__version__ = "0.1.0"

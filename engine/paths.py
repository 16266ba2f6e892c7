"""Where things live: shipped assets, the per-user data cache and the user's trained models.

SEQLAB_HOME overrides the per-user root (tests point it at a temp folder); SEQLAB_ASSETS
overrides the assets folder (the PyInstaller bundle sets it).
"""
from __future__ import annotations

import os
from pathlib import Path


def assets() -> Path:
    env = os.environ.get("SEQLAB_ASSETS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "assets"


def _user_root(kind: str) -> Path:
    home = os.environ.get("SEQLAB_HOME")
    if home:
        return Path(home) / kind
    import platformdirs
    if kind == "cache":
        return Path(platformdirs.user_cache_dir("seqlab"))
    return Path(platformdirs.user_data_dir("seqlab"))


def user_cache() -> Path:
    """Downloaded registry packages and what was unpacked from them."""
    return _user_root("cache")


def user_models() -> Path:
    """Models the user trained (`seqlab train` writes here unless --out says otherwise)."""
    return _user_root("data") / "models"

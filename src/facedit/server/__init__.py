"""The REST API and the browser editor: `facedit serve` (see `facedit.server.app`).

Importing this package loads no model; `create_app(editor)` takes a loaded `Editor`.
"""
from facedit.server.app import create_app
from facedit.server.config import ServerConfig

__all__ = ["create_app", "ServerConfig"]

"""The REST API and the browser editor: `facedit serve` (see `facedit.server.app`).

Importing this package loads no model; `create_app(editor)` takes an `Editor` (or loads one for
`config.model` on the first request that needs it).
"""
from facedit.server.app import create_app
from facedit.server.config import ServerConfig

__all__ = ["create_app", "ServerConfig"]

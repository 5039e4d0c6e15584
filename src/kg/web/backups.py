"""``/backup``: backups of the on-disk store, taken by the server while it serves.

``POST /backup`` writes a consistent copy of the store (Oxigraph's checkpoint: hard links,
milliseconds) into a new folder under the ``backup_dir`` the operator chose and answers its
name (201); ``GET /backup`` lists the backups there. Both need ``Authorization: Bearer
TOKEN``; the client never chooses a path, and no answer shows one. A backup folder is a store
that ``kg --data-dir`` opens (``kg dump`` makes a portable copy of it).
"""

from __future__ import annotations

from flask import Blueprint, Response, json

from ..store import backup as copies
from .extensions import get_config, get_engine, get_store
from ..errors import NotFoundError
from .shared import writer_agent

bp = Blueprint("backups", __name__)


def _folder():
    config = get_config()
    if config.backup_dir is None or config.data_dir is None:
        raise NotFoundError("backups are not enabled on this server (the operator starts it "
                            "with --data-dir and --backup-dir)")
    return config.backup_dir


@bp.route("/backup", methods=["POST"])
def take() -> Response:
    """Back up the store now."""
    writer_agent()
    folder = _folder()
    with get_engine().kg.lock.reading():  # between two writes, never during one
        target = copies.backup(get_store(), folder)
    body = {"backup": target.name, "quads": len(get_store())}
    return Response(json.dumps(body) + "\n", 201, mimetype="application/json")


@bp.route("/backup", methods=["GET"])
def listing() -> Response:
    """The backups taken so far, oldest first."""
    writer_agent()
    return Response(json.dumps({"backups": copies.backups(_folder())}) + "\n",
                    mimetype="application/json")

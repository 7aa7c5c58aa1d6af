"""Each user's own folder under every ``PUBLISHING_LOCAL_ROOTS`` root, and the only way into it.

The roots are shared by every account, so without this one user could name another's
folder and post her files and captions, or point a caption at ``/etc/passwd`` with a
symlink. A local source or a task's media file must lie, after every symlink is resolved,
inside its owner's folder ``<root>/<user id>/`` (the id, not the username: ids never change
and never collide, while usernames are renamed and two of them can slug to one folder).

- The check runs at every use (the source form and API, each scan, each publish), not only
  when a path is stored: the files under a root change behind our back (a sync tool, a
  symlink added later).
- A file is opened with ``O_NOFOLLOW`` on its resolved path, so a symlink swapped in after
  the check is refused instead of followed, and only regular files are read (a FIFO or a
  device would hang or never end).
- A path outside the folder gets one answer, ``OUTSIDE``, the same whether it exists or not,
  and no answer names a server path: paths are shown relative to the user's folder
  (``relative``). Staff see the full paths in the admin (``folders_of``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from publishing.sources.base import SourceError

OUTSIDE = gettext_lazy("That path is not inside your folder.")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class OutsideFolder(SourceError):
    """The path resolves outside the user's folder (or is not a path at all)."""

    def __init__(self) -> None:
        super().__init__(str(OUTSIDE))


class NotAFile(SourceError):
    """Inside the user's folder, but nothing readable there: missing, a folder, a device."""


def folder_name(user_id: int) -> str:
    """The user's folder as they see it, e.g. ``17/``."""
    return f"{user_id}/"


def folders_of(user_id: int) -> list[Path]:
    """The user's folder under each root, created on first use, symlinks resolved."""
    folders = []
    for root in settings.PUBLISHING_LOCAL_ROOTS:
        folder = Path(root) / str(user_id)
        try:
            folder.mkdir(mode=0o750, exist_ok=True)
        except OSError:  # a root that is missing or read-only holds no folder of anyone's
            continue
        folders.append(Path(os.path.realpath(folder)))
    return folders


def _inside(path: Path, folders: list[Path]) -> Path | None:
    return next((folder for folder in folders if path == folder or path.is_relative_to(folder)), None)


def resolve(user_id: int, path: str | os.PathLike) -> Path:
    """``path`` (absolute, or relative to the user's folder) with every symlink resolved.

    ``OutsideFolder`` unless the result lies inside one of the user's folders. A relative
    path is looked up in each root's folder in turn; the first where it exists wins.
    """
    text = os.fspath(path)
    if not text.strip() or "\x00" in text:
        raise OutsideFolder()
    candidate = Path(text)
    folders = folders_of(user_id)
    bases = [candidate] if candidate.is_absolute() else [folder / candidate for folder in folders]
    inside = [real for real in (Path(os.path.realpath(base)) for base in bases) if _inside(real, folders)]
    if not inside:
        raise OutsideFolder()
    return next((real for real in inside if os.path.lexists(real)), inside[0])


def relative(user_id: int, path: str | os.PathLike) -> str:
    """How the user sees ``path``: relative to their folder (``.`` for the folder itself).

    A path outside it (a source stored before folders were per user) shows as nothing
    more than that, never as the server path.
    """
    real = Path(os.path.realpath(os.fspath(path)))
    folder = _inside(real, folders_of(user_id))
    if folder is None:
        return str(OUTSIDE)
    return str(real.relative_to(folder)) if real != folder else "."


def open_file(user_id: int, path: str | os.PathLike) -> BinaryIO:
    """The regular file at ``path`` inside the user's folder, opened for reading.

    ``O_NOFOLLOW`` on the resolved path: a symlink put in its place after ``resolve`` is
    refused, not followed.
    """
    real = resolve(user_id, path)
    missing = NotAFile(_("Nothing to read at %(path)s in your folder.") % {"path": relative(user_id, real)})
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except OSError:
        raise missing from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise missing
    return os.fdopen(fd, "rb")


def read_text(user_id: int, path: str | os.PathLike, *, max_bytes: int) -> str:
    """The first ``max_bytes`` of a text file inside the user's folder, decoded as UTF-8."""
    with open_file(user_id, path) as handle:
        return handle.read(max_bytes).decode("utf-8", errors="replace")

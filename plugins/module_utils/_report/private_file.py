# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one writer of every file the collection leaves on the controller: link-plan reports,
purge backups, sync-scope records, scan reports.  Internal to this collection: not a public API.

They hold directory data (names, addresses, anchors, what a purge removed), so each is private
to the user who ran the task and is never half-written: a temporary file made in the target
folder (``mkstemp``: a new name, ``O_EXCL``, so a planted symlink is never followed), mode 0600
whatever the umask, flushed and ``fsync``-ed, then renamed over the target (``os.replace``
replaces a symlink itself, never what it points at) and the folder synced, so a record written
before a delete is on disk before the delete.  Folders are created 0700; an existing folder is
refused when it is a symlink, is owned by another user, or others may write into it (they could
swap the files between the check and the use).
"""

import contextlib
import os
import stat
import tempfile
import uuid

from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError

FILE_MODE = 0o600
FOLDER_MODE = 0o700


class PrivateFileError(InputError, OSError):
    """A folder or file the collection must not write into; found before anything is written.

    Also an OSError, so a caller that already handles a file it can't write (``except OSError``)
    handles this refusal the same way, with this message."""

    kind = "private_file"


def _exists(path):
    try:
        os.lstat(path)
        return True
    except (FileNotFoundError, NotADirectoryError):
        return False


def folder_problem(path):
    """Why ``path`` can't hold private files, or None: an existing folder must be a real folder
    (not a symlink) owned by this user that no one else may write into; a missing one must be
    creatable (its nearest existing parent a folder this user may write into)."""
    path = os.path.abspath(os.path.expanduser(path))
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        parent = os.path.dirname(path)
        while parent != os.path.dirname(parent) and not _exists(parent):
            parent = os.path.dirname(parent)
        if not os.path.isdir(parent):
            return "%s can't be created: %s is not a folder" % (path, parent)
        if not os.access(parent, os.W_OK | os.X_OK):
            return "%s can't be created: %s is not writable by this user" % (path, parent)
        return None
    if stat.S_ISLNK(info.st_mode):
        return "%s is a symbolic link; name the folder it points at, if that is meant" % path
    if not stat.S_ISDIR(info.st_mode):
        return "%s is not a folder" % path
    if info.st_uid != os.geteuid():
        return "%s is owned by another user (uid %d); use a folder of your own" % (path, info.st_uid)
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "%s can be written by others (mode %04o); chmod 700 it or use a private folder" % (
            path, stat.S_IMODE(info.st_mode))
    if not os.access(path, os.W_OK | os.X_OK):
        return "%s is not writable by this user" % path
    return None


def file_problem(path):
    """Why ``path`` can't be written as a private file, or None: its folder's ``folder_problem``,
    or ``path`` exists and is not a regular file (a symbolic link is refused, never followed).
    For checking a target before the first write of a run, in check mode too."""
    path = os.path.abspath(os.path.expanduser(path))
    problem = folder_problem(os.path.dirname(path))
    if problem:
        return problem
    if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
        return "%s exists and is not a regular file (a symbolic link or a folder); remove it or choose another path" % path
    return None


def ensure_folder(path):
    """``path`` as a private folder (missing parts created 0700); PrivateFileError when it can't be one."""
    path = os.path.abspath(os.path.expanduser(path))
    problem = folder_problem(path)
    if problem:
        raise PrivateFileError(problem)
    missing = []
    walk = path
    while not _exists(walk):
        missing.append(walk)
        walk = os.path.dirname(walk)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, FOLDER_MODE)
        except FileExistsError:
            pass
        problem = folder_problem(folder)
        if problem:
            raise PrivateFileError(problem)
        os.chmod(folder, FOLDER_MODE)
    return path


def _sync_folder(folder):
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


@contextlib.contextmanager
def private_file(path, binary=False, newline=None):
    """``with private_file(path) as out:`` a file written as it is made, which takes ``path``'s
    place (0600, synced to disk) only when the block ends without an error; otherwise ``path``
    is left as it was."""
    path = os.path.abspath(os.path.expanduser(path))
    folder = ensure_folder(os.path.dirname(path))
    problem = file_problem(path)
    if problem:
        raise PrivateFileError(problem)
    handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=folder)
    try:
        os.fchmod(handle, FILE_MODE)
        mode = "wb" if binary else "w"
        with os.fdopen(handle, mode, **({} if binary else {"encoding": "utf-8", "newline": newline})) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
        _sync_folder(folder)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise


def write_private(path, text):
    """Write ``text`` (str, or bytes) to ``path`` privately and atomically (``private_file``)."""
    with private_file(path, binary=isinstance(text, bytes)) as out:
        out.write(text)
    return os.path.abspath(os.path.expanduser(path))


def checked_guid(value, what="object id"):
    """``value`` as a canonical lower-case GUID, for a file name made of it; PrivateFileError
    otherwise (a Graph id is a GUID: anything else in a file name could climb out of the folder)."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise PrivateFileError("%s %r is not a GUID; it can't name a file" % (what, value))

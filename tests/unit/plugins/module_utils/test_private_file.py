"""The one private-file writer (issue 26, finding 7): atomic, 0600 in 0700 folders, no symlink
followed, refused folders named with the fix."""

import os
import stat

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._report import private_file as private


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_new_file_is_0600_in_new_0700_folders_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        target = tmp_path / "a" / "b" / "report.json"
        private.write_private(str(target), "{}")
    finally:
        os.umask(old)
    assert target.read_text() == "{}"
    assert mode(target) == 0o600
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700


def test_an_existing_file_with_a_wide_mode_is_replaced_by_a_private_one(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text("old")
    os.chmod(target, 0o644)
    private.write_private(str(target), "new")
    assert target.read_text() == "new" and mode(target) == 0o600


def test_a_planted_symlink_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "out" / "report.md"
    link.parent.mkdir(mode=0o700)
    link.symlink_to(victim)
    with pytest.raises(private.PrivateFileError, match="not a regular file"):
        private.write_private(str(link), "x")
    assert victim.read_text() == "keep"


def test_a_failure_inside_the_block_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "record.json"
    target.write_text("before")
    with pytest.raises(RuntimeError):
        with private.private_file(str(target)) as out:
            out.write("half")
            raise RuntimeError("stopped")
    assert target.read_text() == "before"
    assert sorted(os.listdir(tmp_path)) == ["record.json"]


@pytest.mark.parametrize("folder_mode, words", [(0o777, "can be written by others"), (0o770, "can be written by others")])
def test_a_folder_others_can_write_is_refused(tmp_path, folder_mode, words):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, folder_mode)
    assert words in private.folder_problem(str(shared))
    with pytest.raises(private.PrivateFileError, match="chmod 700"):
        private.write_private(str(shared / "x.json"), "x")
    assert not (shared / "x.json").exists()


def test_a_symlinked_folder_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "alias").symlink_to(real)
    assert "symbolic link" in private.folder_problem(str(tmp_path / "alias"))


def test_a_folder_of_another_user_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    monkeypatch.setattr(private.os, "geteuid", lambda: os.lstat(folder).st_uid + 1)
    assert "owned by another user" in private.folder_problem(str(folder))


def test_a_missing_folder_under_a_file_is_a_problem(tmp_path):
    (tmp_path / "file").write_text("x")
    assert "is not a folder" in private.folder_problem(str(tmp_path / "file" / "sub"))
    assert private.folder_problem(str(tmp_path / "new" / "deeper")) is None


@pytest.mark.parametrize("value", ["../../etc/passwd", "abc", "", None, "1" * 40])
def test_an_id_that_is_not_a_guid_never_names_a_file(value):
    with pytest.raises(private.PrivateFileError, match="not a GUID"):
        private.checked_guid(value)


def test_a_guid_is_canonical():
    assert private.checked_guid("{1B4E28BA-2FA1-11D2-883F-0016D3CCA427}") == "1b4e28ba-2fa1-11d2-883f-0016d3cca427"

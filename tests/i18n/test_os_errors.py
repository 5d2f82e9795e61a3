"""Operating-system errors inside messages reach the user in the UI language (issue 13)."""
import errno
import os

import pytest

from engine import i18n
from engine.files import OS_REASONS, os_reason
from engine.io import ProjectError, demo_project, save_project


def test_every_os_reason_has_a_chinese_text():
    missing = [t for t in OS_REASONS.values() if i18n.translate(t, "zh_CN") == t]
    assert not missing


@pytest.mark.parametrize("name", ["ENOENT", "EACCES", "ENOSPC", "EISDIR", "EROFS"])
def test_os_reason_is_the_fixed_text_whatever_the_c_library_says(name):
    code = getattr(errno, name)
    exc = OSError(code, "whatever this platform calls it", "x")
    assert os_reason(exc) == OS_REASONS[name]


def test_unknown_errors_fall_back_to_their_own_text():
    assert os_reason(OSError(99999, "odd")) == "odd"
    assert os_reason(ValueError("plain")) == "plain"


@pytest.mark.parametrize("name, chinese", [("ENOSPC", "磁盘空间不足"), ("EROFS", "只读文件系统"),
                                           ("EACCES", "权限不足")])
def test_a_failed_save_says_why_in_chinese(tmp_path, monkeypatch, name, chinese):
    import engine.io as io_mod

    def fail(path, write):
        raise OSError(getattr(errno, name), os.strerror(getattr(errno, name)), str(path))

    monkeypatch.setattr(io_mod, "atomic_write", fail)
    with pytest.raises(ProjectError) as e:
        save_project(tmp_path / "p.nnsp", demo_project())
    zh = i18n.message(e.value, "zh_CN")
    assert zh == f"无法保存 {tmp_path / 'p.nnsp'}：{chinese}", zh


def test_a_missing_folder_in_the_data_panel_message(tmp_path):
    from engine.data import DataError, DataSpec, load_dataset
    with pytest.raises(DataError) as e:
        load_dataset(DataSpec(kind="images", path=str(tmp_path / "nope")))
    assert "nope" in i18n.message(e.value, "zh_CN") and i18n.message(e.value, "zh_CN") != str(e.value)


def test_gui_user_message_for_an_os_error(qapp):
    from app.workers import user_message
    i18n.set_language("zh_CN")
    try:
        text = user_message(PermissionError(errno.EACCES, "Permission denied", "/data/a.csv"))
    finally:
        i18n.set_language("en")
    assert "权限不足" in text and "/data/a.csv" in text

from app.application import main as app_main


def test_screenshot_after_training_in_the_app(tmp_path, monkeypatch, qtbot, capsys):
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "trained.png"
    assert app_main(["--screenshot", str(out), "--train-epochs", "2", "--tab", "Boundary", "--size", "1000x700"]) == 0
    assert "error" not in capsys.readouterr().err
    from PySide6.QtGui import QImage
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1000, 700)

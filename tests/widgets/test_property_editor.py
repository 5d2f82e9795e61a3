from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox

from engine.compile import analyse
from engine.spec import sequential
from widgets.property_editor import PropertyEditor


def graph():
    return sequential([("Input.v1", {"shape": [28, 28, 1]}), ("Flatten.v1", {}),
                       ("Dense.v1", {"units": 32, "activation": "relu"}), ("Dropout.v1", {"rate": 0.25})])


def editor_for(qtbot, node_id):
    g = graph()
    ed = PropertyEditor()
    qtbot.addWidget(ed)
    ed.set_node(g.node(node_id), analyse(g))
    return ed, g


def test_form_generated_from_config_fields(qtbot):
    ed, g = editor_for(qtbot, "n3")
    assert isinstance(ed.widgets["units"], QSpinBox)
    assert ed.widgets["units"].value() == 32
    assert ed.widgets["units"].minimum() == 1 and ed.widgets["units"].maximum() == 65536
    assert isinstance(ed.widgets["activation"], QComboBox)
    assert ed.widgets["activation"].currentData() == "relu"
    assert isinstance(ed.widgets["use_bias"], QCheckBox) and ed.widgets["use_bias"].isChecked()
    assert isinstance(ed.widgets["name"], QLineEdit)
    assert "(None, 32)" in ed.shape_label.text()
    assert "Fully connected" in ed.description.text()


def test_spin_box_emits_node_field_value(qtbot):
    ed, g = editor_for(qtbot, "n3")
    with qtbot.waitSignal(ed.config_edit_requested, timeout=2000) as sig:
        ed.widgets["units"].setValue(64)
    assert sig.args == ["n3", "units", 64]
    with qtbot.waitSignal(ed.config_edit_requested, timeout=2000) as sig:
        ed.widgets["activation"].setCurrentIndex(ed.widgets["activation"].findData("tanh"))
    assert sig.args == ["n3", "activation", "tanh"]
    with qtbot.waitSignal(ed.config_edit_requested, timeout=2000) as sig:
        ed.widgets["use_bias"].setChecked(False)
    assert sig.args == ["n3", "use_bias", False]


def test_shape_field_validates(qtbot):
    ed, g = editor_for(qtbot, "n1")
    w = ed.widgets["shape"]
    assert w.text() == "28, 28, 1"
    with qtbot.assertNotEmitted(ed.config_edit_requested):
        w.setText("28, abc")
        w.editingFinished.emit()
    assert "whole numbers" in ed.message.text()
    with qtbot.waitSignal(ed.config_edit_requested, timeout=2000) as sig:
        w.setText("32x32x3")
        w.editingFinished.emit()
    assert sig.args == ["n1", "shape", [32, 32, 3]]
    assert ed.message.text() == ""


def test_updates_do_not_emit_and_rename(qtbot):
    ed, g = editor_for(qtbot, "n4")
    g2 = g.set_config("n4", rate=0.5)
    with qtbot.assertNotEmitted(ed.config_edit_requested):
        ed.set_node(g2.node("n4"), analyse(g2))
    assert abs(ed.widgets["rate"].value() - 0.5) < 1e-9
    with qtbot.waitSignal(ed.rename_requested, timeout=2000) as sig:
        ed.widgets["name"].setText("drop")
        ed.widgets["name"].editingFinished.emit()
    assert sig.args == ["n4", "drop"]


def test_no_selection_and_error_display(qtbot):
    ed = PropertyEditor()
    qtbot.addWidget(ed)
    ed.set_node(None, count=3)
    assert "3 layers" in ed.title.text() and not ed.fields
    g = sequential([("Input.v1", {"shape": [4, 4]}), ("Dense.v1", {"units": 3})])
    ed.set_node(g.node("n2"), analyse(g))
    assert "Flatten" in ed.problem.text()

"""The property editor shows the layer options of issue #15 (it is generated from the config fields)."""
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from engine.compile import analyse
from engine.spec import sequential
from widgets.property_editor import PropertyEditor


def editor(qtbot, layers, node_id="n2"):
    g = sequential(layers)
    ed = PropertyEditor()
    qtbot.addWidget(ed)
    ed.set_node(g.node(node_id), analyse(g))
    return ed


def test_conv_explicit_pads_are_edited_as_a_list(qtbot):
    ed = editor(qtbot, [("Input.v1", {"shape": [8, 8, 1]}),
                        ("Conv2D.v1", {"padding": "explicit", "pads": [1]})])
    assert isinstance(ed.widgets["padding"], QComboBox)
    assert ed.widgets["padding"].currentData() == "explicit"
    assert ed.widgets["padding"].findData("same") >= 0
    pads = ed.widgets["pads"]
    assert isinstance(pads, QLineEdit) and pads.text() == "1"
    assert "(None, 8, 8, 16)" in ed.shape_label.text()
    with qtbot.waitSignal(ed.config_edit_requested, timeout=2000) as sig:
        pads.setText("0, 1, 1, 0")
        pads.editingFinished.emit()
    assert sig.args == ["n2", "pads", [0, 1, 1, 0]]
    with qtbot.assertNotEmitted(ed.config_edit_requested):
        pads.setText("1, -1")
        pads.editingFinished.emit()
    assert "at least 0" in ed.message.text()


def test_pooling_options(qtbot):
    ed = editor(qtbot, [("Input.v1", {"shape": [8, 8, 1]}),
                        ("AvgPool2D.v1", {"pool_size": 3, "strides": 2, "ceil_mode": True})])
    assert isinstance(ed.widgets["ceil_mode"], QCheckBox) and ed.widgets["ceil_mode"].isChecked()
    assert isinstance(ed.widgets["count_include_pad"], QCheckBox)
    assert isinstance(ed.widgets["dilation"], QSpinBox) and ed.widgets["dilation"].value() == 1
    with qtbot.waitSignal(ed.config_edit_requested, timeout=2000) as sig:
        ed.widgets["count_include_pad"].setChecked(True)
    assert sig.args == ["n2", "count_include_pad", True]


def test_activation_and_recurrent_settings(qtbot):
    ed = editor(qtbot, [("Input.v1", {"shape": [4]}), ("LeakyReLU.v1", {})])
    slope = ed.widgets["negative_slope"]
    assert isinstance(slope, QDoubleSpinBox) and abs(slope.value() - 0.01) < 1e-9
    with qtbot.waitSignal(ed.config_edit_requested, timeout=2000) as sig:
        slope.setValue(0.2)
    assert sig.args[:2] == ["n2", "negative_slope"] and abs(sig.args[2] - 0.2) < 1e-9
    ed = editor(qtbot, [("Input.v1", {"shape": [4]}), ("GELU.v1", {})])
    assert ed.widgets["approximate"].currentData() == "tanh" and ed.widgets["approximate"].findData("none") >= 0
    ed = editor(qtbot, [("Input.v1", {"shape": [5, 3]}), ("GRU.v1", {"units": 4, "bidirectional": True})])
    assert ed.widgets["bidirectional"].isChecked()
    assert ed.widgets["merge_mode"].currentData() == "concat"
    assert ed.widgets["linear_before_reset"].isChecked()
    assert "(None, 8)" in ed.shape_label.text()

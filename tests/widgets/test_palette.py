from PySide6.QtCore import Qt

from engine.registry import all_layers
from widgets.palette import LAYER_MIME, TYPE_ROLE, LayerPalette, LayerPaletteModel, type_id_from_mime


def test_model_lists_every_registered_layer_grouped(qtbot):
    m = LayerPaletteModel()
    assert sorted(m.type_ids()) == sorted(c.type_id for c in all_layers())
    cats = [m.item(r).text() for r in range(m.rowCount())]
    assert cats[0] == "Core" and "Merge" in cats and "Activation" in cats
    for r in range(m.rowCount()):
        head = m.item(r)
        assert not head.flags() & Qt.ItemIsDragEnabled
        for i in range(head.rowCount()):
            tid = head.child(i).data(TYPE_ROLE)
            from engine.registry import get_layer_class
            assert get_layer_class(tid).category == head.text()
            assert head.child(i).data(Qt.ToolTipRole)


def test_mime_data_carries_type_id(qtbot):
    m = LayerPaletteModel()
    idx = m.index_of("Dense.v1")
    assert idx.isValid()
    md = m.mimeData([idx])
    assert LAYER_MIME in m.mimeTypes()
    assert md.hasFormat(LAYER_MIME)
    assert bytes(md.data(LAYER_MIME).data()) == b"Dense.v1"
    assert type_id_from_mime(md) == "Dense.v1"
    # a category header carries nothing
    assert m.mimeData([m.index(0, 0)]) is None


def test_search_filters_and_enter_adds_first_match(qtbot):
    p = LayerPalette()
    qtbot.addWidget(p)
    p.search.setText("dense")
    ids = p.visible_type_ids()
    assert "Dense.v1" in ids and "Input.v1" not in ids and "ReLU.v1" not in ids
    p.search.setText("residual")  # matches the Add description
    assert "Add.v1" in p.visible_type_ids()
    p.search.setText("zzzz-nothing")
    assert p.visible_type_ids() == []
    p.search.setText("dense")
    with qtbot.waitSignal(p.add_requested, timeout=2000) as sig:
        p.search.returnPressed.emit()
    assert sig.args == ["Dense.v1"]


def test_double_click_requests_add(qtbot):
    p = LayerPalette()
    qtbot.addWidget(p)
    src = p.model.index_of("Flatten.v1")
    idx = p.proxy.mapFromSource(src)
    p.show()
    qtbot.waitExposed(p)
    p.tree.scrollTo(idx)
    got = []
    p.add_requested.connect(got.append)
    centre = p.tree.visualRect(idx).center()
    qtbot.mouseClick(p.tree.viewport(), Qt.LeftButton, pos=centre)  # the press a double-click starts with
    qtbot.mouseDClick(p.tree.viewport(), Qt.LeftButton, pos=centre)
    assert got == ["Flatten.v1"]  # a real double-click adds the layer once, not twice


def test_drag_label_is_small_and_layer_menu_can_leave_out_inputs(qtbot):
    from widgets.palette import LayerPalette, drag_pixmap, layer_menu
    p = LayerPalette()
    qtbot.addWidget(p)
    pm = drag_pixmap(p, "Dropout", None)
    assert not pm.isNull() and pm.deviceIndependentSize().height() < 40
    picked = []
    every = layer_menu("Add", p, picked.append)
    no_inputs = layer_menu("Insert", p, picked.append, inputs=False)

    def ids(menu):
        return [a.data() for cat in menu.actions() if cat.menu() for a in cat.menu().actions()]
    assert "Input.v1" in ids(every) and "Input.v1" not in ids(no_inputs)
    assert set(ids(every)) == set(p.model.type_ids())
    next(a for cat in every.actions() if cat.menu() for a in cat.menu().actions() if a.data() == "Dense.v1").trigger()
    assert picked == ["Dense.v1"]

import numpy as np

from engine.data.rows import RowLabels, as_row_labels


def test_row_labels_are_made_on_demand_and_index_like_an_array():
    lab = RowLabels(np.array([2, 3, 5, 9]), "line ")
    assert len(lab) == 4 and lab[0] == "line 2" and lab[-1] == "line 9" and lab[np.int64(2)] == "line 5"
    assert lab.tolist() == ["line 2", "line 3", "line 5", "line 9"]
    sub = lab[np.array([3, 1])]
    assert isinstance(sub, RowLabels) and sub.tolist() == ["line 9", "line 3"]
    assert lab[1:3].tolist() == ["line 3", "line 5"]
    assert lab[np.array([True, False, False, True])].tolist() == ["line 2", "line 9"]
    assert list(np.asarray(lab, dtype=object)) == lab.tolist()
    # a sheet name with braces is text, never a format string
    assert RowLabels([7], "sheet '{x}', row ")[0] == "sheet '{x}', row 7"
    assert as_row_labels(None, 3).tolist() == ["row 1", "row 2", "row 3"]
    assert as_row_labels(lab, 4) is lab
    assert list(as_row_labels(["a", "b"], 2)) == ["a", "b"]

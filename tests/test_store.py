"""autograder.store keeps stored outputs the same from run to run."""

from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.store import WIDGET_VIEW, _drop_live_widgets


def test_live_widget_views_give_way_to_their_static_picture():
    picture = new_output("display_data", data={WIDGET_VIEW: {"model_id": "abc"}, "image/png": "iVBO", "text/plain": "Playground"})
    live_only = new_output("display_data", data={WIDGET_VIEW: {"model_id": "def"}, "text/plain": "IntSlider"})
    nb = new_notebook(cells=[new_code_cell("w", outputs=[picture, live_only])])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"abc": {}}}}
    _drop_live_widgets(nb)
    assert "widgets" not in nb.metadata
    assert set(nb.cells[0].outputs[0].data) == {"image/png", "text/plain"}
    assert WIDGET_VIEW in nb.cells[0].outputs[1].data  # nothing else to show: left as it was

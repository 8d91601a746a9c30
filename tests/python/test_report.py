"""The craft() report, opened in a real headless browser (Debian's Chromium)."""

import pytest



def test_report_renders_in_a_headless_browser(wine_run, tmp_path, browser):
    result, _, _ = wine_run
    path = result.report(str(tmp_path / "out" / "report.html"))
    browser.get(f"file://{path}")
    assert browser.title == "kerascraft report"
    # every plot is an embedded image that the browser decoded
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
        "i.naturalHeight, i.src.slice(0, 22)])")
    assert len(images) == 4
    for complete, width, height, src in images:
        assert complete and width > 200 and height > 100
        assert src == "data:image/png;base64,"
    # the tables have one row per row of the result's tables

    def rows(table_id):
        return browser.execute_script(
            f"return document.querySelectorAll('#{table_id} tbody tr').length")

    members = 6  # two nets, the trees, three cheap models
    assert rows("test-scores") == len(result.test_scores) == members + 2
    assert rows("trials") == len(result.trials) == 3
    assert rows("weights") == len(result.weights) == members
    assert rows("gaps") == len(result.gaps) == members
    assert rows("retrained") == len(result.retrained) == 2
    assert rows("timings") >= 6
    # the headline and the set-up say what was measured and chosen
    headline = browser.find_element("id", "headline").text
    assert f"{result.headline()['ensemble']:.4f}" in headline and "best single model" in headline
    setup = browser.find_element("id", "setup").text
    assert result.setup["precision"] in setup and "steps_per_execution" in setup
    ensemble_row = browser.execute_script(
        "return document.querySelector('#test-scores tbody tr.highlight td').textContent")
    assert ensemble_row.startswith("ensemble")
    # self-contained: nothing was fetched from anywhere
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert [u for u in fetched if not u.startswith("data:")] == []


def test_report_refuses_other_objects(tmp_path):
    import kerascraft as kc

    with pytest.raises(TypeError, match="takes the result of craft"):
        kc.report({"not": "a result"}, str(tmp_path / "r.html"))

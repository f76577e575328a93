"""Server-side SVG charts: valid SVG, marks in the right places, text escaped, template tags."""

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(html: str) -> ET.Element:
    """The chart's <svg> inside its <figure>."""
    figure = ET.fromstring(html)
    assert figure.tag == "figure"
    return figure.find(f"{SVG}svg")


def marks(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if e.get("class") == cls]


def test_bar_chart_has_one_bar_per_value_with_heights_in_proportion():
    series = [charts.Series("n", [1, 2, 4])]
    root = parse(charts.bar_chart(title="Claims by status", categories=["a", "b", "c"], series=series))
    bars = marks(root, "rect", "bar")
    assert [b.get("data-value") for b in bars] == ["1", "2", "4"]
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == pytest.approx(2 * heights[0], rel=0.02)
    assert heights[2] == pytest.approx(4 * heights[0], rel=0.02)
    assert root.get("data-chart") == "bar"
    assert root.find(f"{SVG}title").text == "Claims by status"


def test_stacked_bars_sit_on_each_other():
    root = parse(
        charts.bar_chart(
            title="Paid by source",
            categories=["inc-1"],
            series=[charts.Series("reserve", [300]), charts.Series("insurer", [100])],
            stacked=True,
        )
    )
    reserve, insurer = marks(root, "rect", "bar")
    assert float(insurer.get("y")) + float(insurer.get("height")) == pytest.approx(float(reserve.get("y")), abs=0.2)
    assert float(reserve.get("x")) == float(insurer.get("x"))
    assert len(marks(root, "g", "legend")) == 2


def test_line_chart_threshold_line_sits_at_its_value():
    root = parse(
        charts.line_chart(
            title="Reserve vs minimum",
            labels=["d1", "d2", "d3"],
            series=[charts.Series("balance", [Decimal("2000000000"), 1_500_000_000, 2_500_000_000])],
            threshold=2_000_000_000,
            threshold_label="required minimum",
        )
    )
    threshold = marks(root, "line", "threshold")[0]
    points = marks(root, "circle", "point")
    assert threshold.get("data-value") == "2,000,000,000"
    # the first point equals the threshold: same height on the page
    assert float(points[0].get("cy")) == pytest.approx(float(threshold.get("y1")), abs=0.1)
    assert float(points[1].get("cy")) > float(threshold.get("y1")) > float(points[2].get("cy"))
    assert "required minimum" in "".join(root.itertext())


def test_cumulative_chart_runs_a_total_against_the_target():
    root = parse(
        charts.cumulative_chart(
            title="Paid vs eligible", labels=["1", "2", "3"], increments=[10, 20, 30], target=100, name="paid"
        )
    )
    assert [p.get("data-value") for p in marks(root, "circle", "point")] == ["10", "30", "60"]
    assert marks(root, "line", "threshold")[0].get("data-value") == "100"


def test_text_is_escaped():
    svg = charts.bar_chart(title="<script>x</script>", categories=["<b>"], series=[charts.Series("&", [1])])
    assert "<script>" not in svg
    parse(svg)  # still well-formed


def test_empty_and_all_zero_data_render():
    parse(charts.bar_chart(title="none", categories=[], series=[charts.Series("n", [])]))
    parse(charts.line_chart(title="zeros", labels=["a", "b"], series=[charts.Series("n", [0, 0])]))
    parse(charts.line_chart(title="one", labels=["a"], series=[charts.Series("n", [5])]))


def test_booleans_are_refused():
    with pytest.raises(TypeError):
        charts.bar_chart(title="x", categories=["a"], series=[charts.Series("n", [True])])


@given(st.floats(-1e12, 1e12, allow_nan=False), st.floats(0, 1e12, allow_nan=False))
@example(0.0, 1e-05)  # the last tick once fell a rounding error short
def test_ticks_cover_the_range(low, span):
    ticks = charts.nice_ticks(low, low + span)
    assert ticks[0] <= low
    assert ticks[-1] >= low + span
    assert ticks == sorted(ticks)
    assert len(ticks) <= 13


@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_integer_ticks_are_whole_numbers(low, span):
    ticks = charts.nice_ticks(low, low + span, integer=True)
    assert all(t == int(t) for t in ticks)
    assert ticks[0] <= low and ticks[-1] >= low + span


def test_count_axis_has_no_fractions():
    svg = charts.bar_chart(title="n", categories=["a"], series=[charts.Series("n", [12])])
    labels = [t.text for t in parse(svg).iter(f"{SVG}text") if t.text and t.text[0].isdigit()]
    assert labels == ["0", "5", "10", "15"]


def test_compact_numbers():
    assert charts.format_compact(1234) == "1,234"
    assert charts.format_compact(12_300_000) == "12.3M"
    assert charts.format_compact(2_000_000_000) == "2B"
    assert charts.format_compact(2.5) == "2.5"


def _box(text: ET.Element) -> tuple[float, float, float]:
    """(left, right, baseline) of a legend label as drawn."""
    x, y = float(text.get("x")), float(text.get("y"))
    return x, x + charts.text_width(text.text), y


def test_long_japanese_legend_labels_wrap_and_never_overlap():
    names = ["準備金残高（日末）", "必要最低額（床＋保管資産の割合）", "保険会社からの回収額", "未填補の不足額"]  # noqa: RUF001
    root = parse(
        charts.bar_chart(
            title="誰が損失を負担するか",
            categories=["損失基準額"],
            series=[charts.Series(name, [i + 1]) for i, name in enumerate(names)],
            stacked=True,
            width=360,
        )
    )
    boxes = [_box(g.find(f"{SVG}text")) for g in marks(root, "g", "legend")]
    assert len(boxes) == 4 and len({y for _l, _r, y in boxes}) >= 2  # more than one row
    for i, (left, right, y) in enumerate(boxes):
        assert right <= 360  # inside the drawing
        for other_left, other_right, other_y in boxes[i + 1 :]:
            assert y != other_y or right <= other_left - 14 or other_right <= left - 14
    # the plot starts below the last legend row
    top_gridline = min(float(line.get("y1")) for line in root.iter(f"{SVG}line") if line.get("stroke") == "#d9dee5")
    assert top_gridline > max(y for _l, _r, y in boxes)


def test_axes_titles_units_and_a_table_for_every_chart():
    html = charts.line_chart(
        title="Reserve",
        labels=["12-01", "12-02"],
        series=[charts.Series("balance", [5_000_000_000, 4_000_000_000])],
        threshold=2_000_000_000,
        threshold_label="required minimum",
        y_format=charts.yen_compact,
        x_title="date (Japan time)",
        y_title="yen",
        caption="Above the minimum on both days.",
    )
    figure = ET.fromstring(html)
    root = figure.find(f"{SVG}svg")
    texts = {t.get("class"): t.text for t in root.iter(f"{SVG}text") if t.get("class")}
    assert texts["x-title"] == "date (Japan time)" and texts["y-title"] == "yen"
    assert "¥2B" in [t.text for t in root.iter(f"{SVG}text")]
    assert marks(root, "line", "y-axis") and marks(root, "line", "x-axis")
    assert figure.find("figcaption").text == "Reserve. Above the minimum on both days."
    rows = [[c.text for c in tr] for tr in figure.iter("tr")]
    assert rows == [
        ["date (Japan time)", "balance", "required minimum"],
        ["12-01", "5,000,000,000", "2,000,000,000"],
        ["12-02", "4,000,000,000", "2,000,000,000"],
    ]

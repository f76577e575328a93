"""Server-side SVG charts: valid SVG, marks in the right places, text escaped, template tags."""

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


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

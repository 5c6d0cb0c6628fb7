"""Charts drawn on the server as SVG by pygal, inlined in the page.

Each chart is readable without JavaScript (its values are printed on it) and brings no script:
pygal's tooltip script is turned off (`js=[]`) and its inline config script removed, so the
console's CSP (script-src 'self', no inline script) holds;
the chart's <style> is scoped to its own id (the CSP allows inline styles). The SVG is an image
named by its title for screen readers; the page puts the same figures in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

# The console's own ink and palette (console.css), with AA contrast on white.
STYLE = Style(
    font_family='system-ui, "PingFang SC", "Noto Sans SC", "Microsoft YaHei", sans-serif',
    background="transparent",
    plot_background="#ffffff",
    foreground="#1d2330",
    foreground_strong="#1d2330",
    foreground_subtle="#55606f",
    colors=("#1a56c9", "#b4232a", "#1d6b3a", "#8a4b00", "#6b3fa0"),
    title_font_size=18,
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=13,
    tooltip_font_size=13,
)
COMMON: dict[str, Any] = dict(
    style=STYLE,
    js=[],  # no script: nothing for the CSP to refuse, nothing needed to read the chart
    disable_xml_declaration=True,  # an element to inline, not a document
    print_values=True,
    print_zeroes=False,
    show_legend=False,
    truncate_label=-1,  # a reason's whole label, in either language
    margin_right=28,  # room for the last tick label (money runs long)
    width=560,
    height=320,
)
Format = Callable[[Any], str]


def bars(
    title: str, labels: Sequence[str], values: Sequence[float], formatter: Format, *, no_data: str, whole: bool = False
) -> Markup:
    """One horizontal bar per label (reasons, shops read best left to right); `whole`: counts,
    whose axis has whole numbers only."""
    height = max(140, 50 + 34 * len(labels))
    chart = pygal.HorizontalBar(
        value_formatter=formatter, no_data_text=no_data, **{**COMMON, "height": height, **_ticks(values, whole)}
    )
    # pygal stacks horizontal bars from the bottom: reversed, the first label reads at the top.
    chart.x_labels = list(reversed(labels))
    chart.add(title, list(reversed(values)))
    return _svg(chart, title)


def daily(title: str, labels: Sequence[str], values: Sequence[int], *, no_data: str, every: int = 1) -> Markup:
    """A series over days as a filled line, a dot and its value on each day of a month or less
    (a line of 91 days draws in a third of the time 91 columns take); only every `every`-th
    label is written under the axis."""
    short = len(values) <= 31
    chart = pygal.Line(
        no_data_text=no_data,
        fill=True,
        show_dots=short,
        dots_size=3,
        x_label_rotation=-45,
        show_minor_x_labels=every <= 1,
        x_labels_major_every=max(every, 1),
        **{**COMMON, "print_values": short, **_ticks(values, True)},
    )
    chart.x_labels = list(labels)
    chart.add(title, list(values))
    return _svg(chart, title)


def pie(title: str, slices: Sequence[tuple[str, int]], *, no_data: str) -> Markup:
    """One slice per (label, value) with a value; the legend names them."""
    chart = pygal.Pie(no_data_text=no_data, inner_radius=0.45, **{**COMMON, "show_legend": True})
    for label, value in slices:
        if value:
            chart.add(f"{label}: {value}", [value])
    return _svg(chart, title)


def _ticks(values: Sequence[float], whole: bool) -> dict[str, Any]:
    """About five round ticks from 0 (1, 2 or 5 times a power of ten): pygal's own would write
    0.1, 0.2… under a handful of cases, and a dozen money labels running into each other."""
    top = max((float(v) for v in values), default=0.0)
    if top <= 0:
        return {}
    rough = top / 5
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    if whole:
        step = max(1, math.ceil(step))
    count = math.ceil(top / step - 1e-9)
    return {"y_labels": [round(i * step, 10) for i in range(count + 1)]}


def _svg(chart: Any, title: str) -> Markup:
    """The chart's SVG, named by `title` (the page shows the title above it, in its figcaption)."""

    def named(root: Any) -> Any:
        root.set("role", "img")
        root.set("aria-label", title)
        # pygal writes its config as an inline script even with js=[]: the CSP would refuse it.
        for parent in list(root.iter()):
            for child in list(parent):
                if str(child.tag).rsplit("}", 1)[-1] == "script":
                    parent.remove(child)
        return root

    chart.add_xml_filter(named)
    return Markup(chart.render(is_unicode=True))

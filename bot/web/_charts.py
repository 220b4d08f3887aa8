"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN, readable without explanation
(a title, labelled axes, the last value written out)."""
from __future__ import annotations

from typing import Sequence

from markupsafe import Markup, escape

W, H, PAD_L, PAD_B, PAD_T, PAD_R = 560, 220, 44, 28, 12, 12
WEEKDAYS = {"en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "ja": ["月", "火", "水", "木", "金", "土", "日"]}


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000,
                 100_000, 200_000, 500_000, 1_000_000):
        if value <= step * 4:
            return step * 4
    return value * 1.1


def _frame(top: float, labels: Sequence[str], fmt=lambda v: f"{v:,.0f}") -> list[str]:
    parts = [f'<svg viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg" role="img" font-size="11" font-family="system-ui, sans-serif">']
    for i in range(5):
        y = PAD_T + (H - PAD_T - PAD_B) * (1 - i / 4)
        parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e5e8"/>')
        parts.append(f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#5f6670">{escape(fmt(top * i / 4))}</text>')
    n = len(labels)
    every = max(1, n // 8)
    for i, label in enumerate(labels):
        if i % every == 0 or i == n - 1:
            x = _x(i, n)
            parts.append(f'<text x="{x:.1f}" y="{H - 8}" text-anchor="middle" fill="#5f6670">{escape(label)}</text>')
    return parts


def _x(i: int, n: int) -> float:
    span = W - PAD_L - PAD_R
    return PAD_L + (span * (i + 0.5) / n if n else 0)


def _y(v: float, top: float) -> float:
    return PAD_T + (H - PAD_T - PAD_B) * (1 - v / top)


def line(points: Sequence[tuple[str, float]], *, color: str = "#5865f2", percent: bool = False) -> Markup:
    if not points:
        return Markup("")
    values = [v for _, v in points]
    top = 1.0 if percent else _nice_max(max(values))
    fmt = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:,.0f}")
    parts = _frame(top, [label for label, _ in points], fmt)
    coords = " ".join(f"{_x(i, len(values)):.1f},{_y(v, top):.1f}" for i, v in enumerate(values))
    parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>')
    x, y = _x(len(values) - 1, len(values)), _y(values[-1], top)
    parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
    parts.append(f'<text x="{x - 4:.1f}" y="{y - 6:.1f}" text-anchor="end" font-weight="600">{escape(fmt(values[-1]))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(points: Sequence[tuple[str, float]], *, color: str = "#5865f2", width: int | None = None,
         percent: bool = False, second: Sequence[float] | None = None, second_color: str = "#d83c3e") -> Markup:
    if not points:
        return Markup("")
    values = [v for _, v in points]
    top = 1.0 if percent else _nice_max(max(list(values) + list(second or [])))
    fmt = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:,.0f}")
    parts = _frame(top, [label for label, _ in points], fmt)
    n = len(values)
    slot = (W - PAD_L - PAD_R) / n
    bar = max(1.0, slot * (0.4 if second else 0.7))
    for i, v in enumerate(values):
        x = _x(i, n) - (bar if second else bar / 2)
        parts.append(f'<rect x="{x:.1f}" y="{_y(v, top):.1f}" width="{bar:.1f}" height="{_y(0, top) - _y(v, top):.1f}" fill="{color}"><title>{escape(points[i][0])}: {escape(fmt(v))}</title></rect>')
        if second:
            s = second[i]
            parts.append(f'<rect x="{x + bar:.1f}" y="{_y(s, top):.1f}" width="{bar:.1f}" height="{_y(0, top) - _y(s, top):.1f}" fill="{second_color}"/>')
        if n <= 12:
            parts.append(f'<text x="{_x(i, n):.1f}" y="{_y(v, top) - 3:.1f}" text-anchor="middle">{escape(fmt(v))}</text>')
    parts.append("</svg>")
    out = "".join(parts)
    if width:
        out = out.replace("<svg ", f'<svg style="max-width:{width}px" ', 1)
    return Markup(out)


def health_charts(view: dict, catalogue) -> list[tuple[str, Markup]]:
    t = lambda key, **kw: catalogue.t(f"web.{key}", **kw)  # noqa: E731
    report = view["report"]
    days = report.days
    label = lambda d: f"{d.month}/{d.day}"  # noqa: E731
    charts = [
        (t("health_members"), line([(label(d), v) for d, v in view["members"]])),
        (t("health_active"), line([(label(d.day), d.active) for d in days], color="#3ba55c")),
        (t("health_joined_left"), bars([(label(d.day), d.joined) for d in days], color="#3ba55c",
                                       second=[d.left for d in days])),
        (t("health_participation"), bars([(t("health_prompts"), report.prompts.rate or 0),
                                          (t("health_quizzes"), report.quizzes.rate or 0)], percent=True, color="#eb459e")),
    ]
    if view.get("busiest_channels"):
        charts.append((t("health_busiest_channels"), bars([(f"#{name}"[:14], n) for name, n in view["busiest_channels"]],
                                                          color="#5865f2")))
    if view.get("busiest_hours"):
        charts.append((t("health_busiest_hours"), bars([(f"{h}", n) for h, n in view["busiest_hours"]], color="#9b59b6")))
    names = WEEKDAYS.get(catalogue.language, WEEKDAYS["en"])
    if view["busiest_weekdays"]:
        charts.append((t("health_busiest_days"), bars([(names[w], v) for w, v in view["busiest_weekdays"]],
                                                      color="#faa61a")))
    return charts

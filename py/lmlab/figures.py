"""Small figures that a chapter's cells display: objects with ``_repr_svg_``.

A figure only draws: the numbers it shows are computed by the cell (with lmlab) and handed in,
so the picture and the printed output cannot disagree. Colours are the page's own CSS variables
(with a fallback for a notebook), so a figure reads the same in the light and the dark theme.
"""

from collections.abc import Sequence
from html import escape

import numpy as np

# Isometric drawing of 3-D: the first axis to the lower left, the second to the lower right,
# the third straight up, each at 120 degrees from the others (SVG's y grows downwards).
ISOMETRIC = np.array([[-np.sqrt(3) / 2, np.sqrt(3) / 2, 0.0], [0.5, 0.5, -1.0]])


def _svg(width: int, height: int, description: str, parts: list[str]) -> str:
    """An SVG image of the parts, scaled to fit its column, with the description as its text
    alternative (for a screen reader, and as a tooltip)."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" style="max-width: 100%; height: auto" role="img" '
            f'aria-label="{escape(description, quote=True)}" font-size="13" '
            f'font-family="sans-serif"><title>{escape(description)}</title>{"".join(parts)}</svg>')


class OneHotTriangle:
    """Three one-hot vectors of a 3-word vocabulary at the tips of the axes, drawn in isometric
    3-D, with the triangle they span and each side's length and cosine.

    vectors: (3, 3) the one-hot rows; words: their 3 words; distances, cosines: (3, 3) matrices
    of the pairs, as the cell computed them.
    """

    def __init__(self, vectors: np.ndarray, words: Sequence[str], distances: np.ndarray,
                 cosines: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float64)
        if vectors.shape != (3, 3) or len(words) != 3:
            raise ValueError(f"need three 3-D vectors and three words, got {vectors.shape}")
        self.vectors, self.words = vectors, list(words)
        self.distances, self.cosines = np.asarray(distances), np.asarray(cosines)

    def description(self) -> str:
        """The figure in words: its text alternative."""
        tips = ", ".join(f"{w} ({', '.join(f'{x:g}' for x in v)})"
                         for w, v in zip(self.words, self.vectors, strict=True))
        sides = "; ".join(
            f"{self.words[i]} to {self.words[j]}: distance {self.distances[i, j]:.3f}, "
            f"cosine {self.cosines[i, j]:.3f}" for i, j in ((0, 1), (1, 2), (0, 2)))
        return (f"Three one-hot vectors drawn in 3-D at the tips of the three axes: {tips}. "
                f"The triangle they span has equal sides. {sides}.")

    def _repr_svg_(self) -> str:
        width, height, scale = 380, 290, 120
        origin = np.array([190.0, 170.0])
        at = lambda v: origin + scale * (ISOMETRIC @ v)  # noqa: E731 - 3-D point -> SVG point
        text = "var(--text, #1c1e21)"
        accent = "var(--accent, #3b3fb6)"
        muted = "var(--muted, #4a4f57)"
        parts = []
        for axis in np.eye(3):  # the axes, a little longer than the unit vectors
            (x1, y1), (x2, y2) = at(0 * axis), at(1.3 * axis)
            parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                         f'stroke="{muted}" stroke-width="1"/>')
        tips = [at(v) for v in self.vectors]
        corners = " ".join(f"{x:.1f},{y:.1f}" for x, y in tips)
        parts.append(f'<polygon points="{corners}" fill="{accent}" fill-opacity="0.12" '
                     f'stroke="{accent}" stroke-width="2" stroke-dasharray="6 4"/>')
        for i, j in ((0, 1), (1, 2), (0, 2)):  # each side's length and cosine, at its middle
            (mx, my) = (tips[i] + tips[j]) / 2
            below = -10 if (i, j) == (0, 1) else -6
            anchor = "middle" if (i, j) == (0, 1) else ("start" if i == 1 else "end")
            dx = 0 if anchor == "middle" else (8 if anchor == "start" else -8)
            side = f"distance {self.distances[i, j]:.3f}, cos {self.cosines[i, j]:.0f}"
            parts.append(f'<text x="{mx + dx:.1f}" y="{my + below:.1f}" text-anchor="{anchor}" '
                         f'fill="{text}">{side}</text>')
        offsets = [(0, 24, "middle"), (0, 24, "middle"), (10, -4, "start")]
        for (x, y), word, vector, (dx, dy, anchor) in zip(tips, self.words, self.vectors, offsets,
                                                          strict=True):
            coords = ", ".join(f"{c:g}" for c in vector)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{accent}"/>'
                         f'<text x="{x + dx:.1f}" y="{y + dy:.1f}" text-anchor="{anchor}" '
                         f'font-weight="700" fill="{text}">{escape(word)} ({coords})</text>')
        return _svg(width, height, self.description(), parts)


class LineChart:
    """One or more curves over the same x values, on shared axes: a loss curve, a schedule.

    series: {name: (N,) y values}; x: (N,) x values (default 0 .. N-1). The y axis spans the
    curves' smallest and largest values (or ``y_range``); each curve is labelled at its end.
    """

    COLOURS = ("var(--accent, #3b3fb6)", "var(--warn-line, #8a5a00)", "var(--muted, #4a4f57)")

    def __init__(self, series: dict[str, Sequence[float]], x: Sequence[float] | None = None,
                 x_label: str = "step", y_label: str = "", title: str = "",
                 y_range: tuple[float, float] | None = None) -> None:
        self.series = {name: np.asarray(ys, dtype=np.float64) for name, ys in series.items()}
        lengths = {len(ys) for ys in self.series.values()}
        if len(lengths) != 1 or 0 in lengths or len(self.series) > len(self.COLOURS):
            raise ValueError("need 1 to 3 non-empty series of the same length")
        n = lengths.pop()
        self.x = np.arange(n, dtype=np.float64) if x is None else np.asarray(x, dtype=np.float64)
        if self.x.shape != (n,):
            raise ValueError(f"x has shape {self.x.shape}, the series have {n} values")
        values = np.concatenate(list(self.series.values()))
        self.y_range = y_range or (float(values.min()), float(values.max()))
        self.x_label, self.y_label, self.title = x_label, y_label, title

    def description(self) -> str:
        """The chart in words: its text alternative."""
        curves = "; ".join(f"{name} from {ys[0]:.4g} at {self.x_label} {self.x[0]:g} to "
                           f"{ys[-1]:.4g} at {self.x_label} {self.x[-1]:g} (lowest {ys.min():.4g})"
                           for name, ys in self.series.items())
        return f"{self.title or 'Line chart'}: {self.y_label} against {self.x_label}. {curves}."

    def _repr_svg_(self) -> str:
        width, height = 560, 260
        left, right, top, bottom = 56, 110, 28, 40
        (x0, x1), (y0, y1) = (self.x[0], self.x[-1]), self.y_range
        span_x, span_y = (x1 - x0) or 1.0, (y1 - y0) or 1.0
        sx = lambda v: left + (v - x0) / span_x * (width - left - right)  # noqa: E731
        sy = lambda v: height - bottom - (v - y0) / span_y * (height - top - bottom)  # noqa: E731
        text, muted = "var(--text, #1c1e21)", "var(--muted, #4a4f57)"
        parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" '
                 f'y2="{height - bottom}" stroke="{muted}"/>',
                 f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" '
                 f'stroke="{muted}"/>']
        for value in (y0, y1):
            parts.append(f'<text x="{left - 6}" y="{sy(value) + 4:.1f}" text-anchor="end" '
                         f'fill="{text}">{value:.3g}</text>')
        for value in (x0, x1):
            parts.append(f'<text x="{sx(value):.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle" fill="{text}">{value:g}</text>')
        parts.append(f'<text x="{(left + width - right) / 2:.1f}" y="{height - 6}" '
                     f'text-anchor="middle" fill="{text}">{escape(self.x_label)}</text>')
        parts.append(f'<text x="{left}" y="{top - 10}" fill="{text}" font-weight="700">'
                     f'{escape(self.title or self.y_label)}</text>')
        for (name, ys), colour in zip(self.series.items(), self.COLOURS, strict=False):
            clipped = np.clip(ys, y0, y1)
            points = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(self.x, clipped,
                                                                       strict=True))
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                         f'stroke-width="1.5"/>')
            parts.append(f'<text x="{width - right + 6}" y="{sy(clipped[-1]) + 4:.1f}" '
                         f'fill="{text}">{escape(name)}</text>')
        return _svg(width, height, self.description(), parts)

"""Numbers as the reader sees them, checked to read the same on every machine.

CPython's numpy picks SIMD kernels for exp, log and sums at run time from the CPU's features, and
Pyodide's wasm numpy has none, so a computed value can differ in its last bits between the build,
the browser and the next machine (relative differences of about 1e-16 to 1e-14 are seen). Tests
therefore compare what the page prints, at the precision it prints. That is the same everywhere
unless a value sits within that noise of a rounding edge, where one machine prints 0.125 and the
next 0.124. ``fixed`` refuses such a value, so the test fails here, on every machine, and the
author picks another example, instead of it failing only on some machines.
"""

# A million times the largest cross-build difference seen, and still a tiny fraction of any
# printed step (1e-9 of a value, against a step of 1e-3 at three decimals). The noise is taken as
# relative to the value, as it is for products, exp, log and sums of positive terms; a result
# that cancels to near zero needs a margin of its own.
RELATIVE_MARGIN = 1e-9


def fixed(value: float, digits: int, relative_margin: float = RELATIVE_MARGIN) -> str:
    """f"{value:.{digits}f}", checked that no neighbour within the margin prints otherwise.
    Values computed in float32 through many layers (a real model's) need a wider margin."""
    value = float(value)
    text = f"{value:.{digits}f}"
    margin = abs(value) * relative_margin
    if f"{value - margin:.{digits}f}" != text or f"{value + margin:.{digits}f}" != text:
        raise AssertionError(
            f"{value!r} lies within {margin:.1e} of a rounding edge at {digits} decimals, so it "
            "may print differently on another machine or in Pyodide: choose another example value"
        )
    return text

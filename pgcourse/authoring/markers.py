"""Solution regions: ``-- BEGIN SOLUTION`` ... ``-- END SOLUTION`` (SQL) or ``# BEGIN SOLUTION`` (Python).

The markers are comments in either language, so a solution cell runs unchanged in the solution
notebook, inside ``%%sql`` and ``%%answer`` cells as well as Python cells.
"""

from __future__ import annotations

import re

from ..errors import AuthoringError

_MARKER = re.compile(r"^(?P<indent>\s*)(?P<comment>--|#+)\s*(?P<which>BEGIN|END) SOLUTION\s*$")

#: What a solution region becomes in the learner notebook, by comment style.
STUBS = {"--": "-- YOUR SQL HERE", "#": "# YOUR CODE HERE"}


def has_solution(source: str) -> bool:
    """True when the cell source holds at least one BEGIN SOLUTION marker."""
    return any((m := _MARKER.match(line)) and m["which"] == "BEGIN" for line in source.splitlines())


def replace_solution_regions(source: str) -> str:
    """Replace every solution region (markers included) by a one-line stub at the marker's indent."""
    out: list[str] = []
    inside: re.Match | None = None
    for number, line in enumerate(source.splitlines(), 1):
        match = _MARKER.match(line)
        if match is None:
            if inside is None:
                out.append(line)
            continue
        if match["which"] == "BEGIN":
            if inside is not None:
                raise AuthoringError(f"line {number}: BEGIN SOLUTION inside another solution region")
            inside = match
            comment = "--" if match["comment"] == "--" else "#"
            out.append(match["indent"] + STUBS[comment])
        else:
            if inside is None:
                raise AuthoringError(f"line {number}: END SOLUTION without BEGIN SOLUTION")
            inside = None
    if inside is not None:
        raise AuthoringError("a BEGIN SOLUTION has no END SOLUTION")
    return "\n".join(out)


def solution_regions(source: str) -> list[str]:
    """The text of every solution region in a cell source, markers excluded (what learners never see)."""
    regions: list[str] = []
    inside: list[str] | None = None
    for line in source.splitlines():
        match = _MARKER.match(line)
        if match is None:
            if inside is not None:
                inside.append(line)
        elif match["which"] == "BEGIN":
            inside = []
        elif inside is not None:
            regions.append("\n".join(inside))
            inside = None
    return regions

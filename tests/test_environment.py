"""pyproject.toml and environment.yml pin the same packages at the same versions."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.conftest import PROJECT


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for req in requirements:
        name, version = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+).*", req.strip()).groups()
        pins[name.lower().replace("_", "-")] = version
    return pins


def test_every_dependency_is_pinned_and_environment_yml_matches():
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    pyproject = _pins(declared)
    env = yaml.safe_load((PROJECT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _pins(pip_section) == pyproject


def test_prettytable_stays_below_3_12_for_ipython_sql():
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    version = _pins(project["dependencies"])["prettytable"]
    assert tuple(int(x) for x in version.split(".")[:2]) < (3, 12)

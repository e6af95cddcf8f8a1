"""The Pages workflow: valid, on main, built by the one command, published with the Pages actions."""

from __future__ import annotations

import yaml

from tests.conftest import PROJECT, assert_valid_against

WORKFLOW = PROJECT / ".github" / "workflows" / "site.yml"


def test_site_workflow_is_a_valid_github_workflow():
    assert_valid_against("vendor.github-workflows", WORKFLOW)


def test_site_workflow_builds_with_pgcourse_site_and_deploys_build_site_from_main():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML reads `on:` as True
    assert workflow["permissions"]["pages"] == "write" and workflow["permissions"]["id-token"] == "write"
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert "python3 course.py site" in "\n".join(step.get("run", "") for step in build["steps"])
    upload = next(s for s in build["steps"] if str(s.get("uses", "")).startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "build/site"
    assert deploy["needs"] == "build"
    assert any(str(s.get("uses", "")).startswith("actions/deploy-pages") for s in deploy["steps"])

"""The learners' grading workflow runs the command the suite runs, on a postgres:18 service."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "grade.yml"


def test_grade_workflow_uses_a_postgres_18_service_and_the_grade_command():
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["grade"]
    assert job["services"]["postgres"]["image"] == "postgres:18"
    assert job["env"]["PGCOURSE_DATABASE_URL"].startswith("postgresql://")
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert "python3 course.py grade" in script and "--json grades.json" in script and "--junit grades.xml" in script
    uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and uploads[0]["if"] == "always()"

"""The course's chapters: number, slug, title and what each chapter's database needs."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ChapterError


@dataclass(frozen=True)
class ChapterInfo:
    """One chapter. Its database is ``chNN_slug``; its notebook ``NN_slug.ipynb``."""

    number: str
    slug: str
    title: str
    #: per-statement limit for learner SQL in this chapter (an infinite query is cancelled)
    statement_timeout: str = "60s"
    #: built-in roles the learner is granted in this chapter (e.g. pg_monitor for chapter 11)
    granted_roles: tuple[str, ...] = ()
    #: role attributes the learner gets for this chapter's work (e.g. CREATEROLE for security)
    role_attributes: tuple[str, ...] = ()
    #: an empty scratch database beside the chapter's, owned by the learner (experiments that need a database of their own)
    scratch: bool = False

    @property
    def name(self) -> str:
        return f"{self.number}_{self.slug}"

    @property
    def database(self) -> str:
        return f"ch{self.number}_{self.slug}"

    @property
    def notebook(self) -> str:
        return f"{self.name}.ipynb"

    @property
    def checks_module(self) -> str:
        return f"pgcourse.checks.ch{self.number}_{self.slug}"


CHAPTERS: tuple[ChapterInfo, ...] = (
    ChapterInfo("00", "getting_started", "Getting started"),
    ChapterInfo("01", "schema_design", "Schema design"),
    ChapterInfo("02", "data_types", "Data types"),
    ChapterInfo("03", "constraints", "Constraints", scratch=True),
    ChapterInfo("04", "indexes", "Indexes", statement_timeout="120s"),
    ChapterInfo("05", "queries", "Queries"),
    ChapterInfo("06", "transactions", "Transactions"),
    ChapterInfo("07", "migrations", "Migrations"),
    ChapterInfo("08", "performance", "Performance", statement_timeout="120s"),
    ChapterInfo("09", "partitioning", "Partitioning"),
    ChapterInfo("10", "security", "Security", role_attributes=("CREATEROLE",)),
    ChapterInfo("11", "maintenance", "Maintenance and monitoring",
                granted_roles=("pg_monitor", "pg_read_all_stats")),
    ChapterInfo("12", "backup", "Backup and recovery", scratch=True),
    ChapterInfo("13", "capstone", "Capstone: anti-patterns", role_attributes=("CREATEROLE",)),
)


def get(ref: str | int) -> ChapterInfo:
    """Find a chapter by number (4, "04"), name ("04_indexes"), slug ("indexes") or database."""
    key = str(ref).strip().removesuffix(".ipynb").rsplit("/", 1)[-1]
    for chapter in CHAPTERS:
        if key.isdigit() and int(key) == int(chapter.number):
            return chapter
        if key in (chapter.name, chapter.slug, chapter.database):
            return chapter
    known = ", ".join(c.name for c in CHAPTERS)
    raise ChapterError(f"no chapter {ref!r}.\n  what to do: use one of {known}")


def for_exercise(exercise_id: str) -> ChapterInfo:
    """The chapter an exercise id belongs to: "4.2" -> chapter 04."""
    return get(exercise_id.split(".", 1)[0])

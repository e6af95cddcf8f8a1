"""Sphinx configuration of the course website (``pgcourse site`` passes this folder as ``-c``).

Everything the pages load comes from the build itself: no web fonts, no CDN scripts (MathJax and
require.js are switched off), so the site builds and reads offline.
"""

project = "pgcourse"
html_title = "pgcourse: a hands-on PostgreSQL 18 course"
author = "the pgcourse authors"
copyright = "the pgcourse authors (MIT licence)"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# The learner notebooks' outputs are recorded: never execute them (no kernel, no database).
nb_execution_mode = "off"
nb_merge_streams = True
# No widgets in the course: do not add require.js / the widget manager from a CDN.
nb_ipywidgets_js = {}
# Nothing of the course is math; keep MathJax (a CDN script) out of every page.
myst_enable_extensions = ["colon_fence"]
myst_dmath_allow_labels = False
myst_heading_anchors = 3

html_theme = "furo"
html_static_path = ["static"]
html_css_files = ["pgcourse.css"]
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "navigation_with_keys": True,
}
pygments_style = "sphinx"
suppress_warnings = ["myst.header", "misc.highlighting_failure"]

"""Sphinx configuration: MyST pages, autodoc from docstrings, examples (testcode) against Local
Bedrock."""

from __future__ import annotations

project = "bedrock_batch"
author = "bedrock_batch developers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.doctest", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "furo"
myst_enable_extensions = ["colon_fence"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
napoleon_google_docstring = True
nitpicky = False
suppress_warnings = ["myst.header"]
# No doctest_global_setup: every page's examples import what they use, so they run as pasted
# (tests/docs/test_pages_as_pasted.py runs each page's blocks in a fresh interpreter).

"""Sphinx configuration: MyST pages, autodoc from docstrings, doctests against Local Bedrock."""

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
doctest_global_setup = """
from bedrock_batch import BatchJob, PollConfig
from bedrock_batch.local import LocalBedrock
"""

"""The docs: the Sphinx build and its doctests, and the README's and testing page's shell snippets
run as written."""

"""MkDocs hook: ``<!-- solver-table -->`` in a page becomes the solver registry's table.

The table is :func:`nmfkit.solvers.available` at build time, so the documentation lists
exactly the solvers the code registers, with what each supports.
"""
from __future__ import annotations

MARKER = "<!-- solver-table -->"


def _cell(value):
    if isinstance(value, bool) or str(value) in ("True", "False"):
        return "yes" if str(value) == "True" else "no"
    text = str(value) or "-"
    return text.replace("|", "\\|")


def render():
    """The registry's table as a Markdown table."""
    import nmfkit.solvers

    table = nmfkit.solvers.available()
    columns = ["solver", *table.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for name, row in table.iterrows():
        lines.append("| " + " | ".join([f"`{name}`", *(_cell(v) for v in row)]) + " |")
    return "\n".join(lines)


def on_page_markdown(markdown, page, config, files, **kwargs):
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render())

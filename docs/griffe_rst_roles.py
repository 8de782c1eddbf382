"""A Griffe extension for the docs build: Sphinx markup in docstrings, read as Markdown.

The docstrings are numpydoc, and some use Sphinx's roles (``:func:`read_matrix```,
``:class:`~nmfkit.NMF```) and its ``::`` literal-block marker, which Markdown would show
verbatim. Before mkdocstrings renders a docstring this rewrites

- a role into an *optional* cross-reference: a link where the target is documented on
  this site, plain code otherwise (external names such as ``sklearn.decomposition.NMF``
  are not linked: the build fetches no inventories). A name without a dot is looked up
  from the documented object outwards (its class, then its module);
- a paragraph's closing ``::`` into ``:`` (the indented block after it is already a
  code block in Markdown);
- a reStructuredText simple table (columns under runs of ``=``) into a Markdown table.

mkdocs.yml loads it (``extensions:`` of the Python handler); the source files are not
changed.
"""
from __future__ import annotations

import html
import re

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|attr|mod|data|obj|exc|const|term):"
    r"`(?P<tilde>~?)(?P<text>[^`<]+?)(?:\s*<(?P<target>[^>`]+)>)?`"
)
_LITERAL_MARKER = re.compile(r"(?m)(\S)::[ \t]*$")
_LONE_MARKER = re.compile(r"(?m)^[ \t]*::[ \t]*$")


# Names importable from the top level that are documented where they are defined.
_TOP_LEVEL = {"nmfkit.TopicModel": "nmfkit.apps.topics.TopicModel",
              "nmfkit.SimilarityIndex": "nmfkit.apps.similarity.SimilarityIndex"}


def _identifier(obj, name):
    """The full path of ``name`` as seen from ``obj``, or ``name`` itself."""
    for short, full in _TOP_LEVEL.items():
        if name == short or name.startswith(short + "."):
            return full + name[len(short):]
    if name.startswith("nmfkit."):
        return name
    head = name.split(".", 1)[0]
    scope = obj
    while scope is not None:
        try:
            if head in scope.members:
                return f"{scope.path}.{name}"
        except Exception:  # an alias that does not resolve: try the next scope out
            pass
        scope = scope.parent
    return name


_BORDER = re.compile(r"^ *=+( +=+)+ *$")


def _cells(line, spans):
    cells = [line[start:end].strip() for start, end in spans[:-1]]
    cells.append(line[spans[-1][0]:].strip())
    return [cell.replace("|", "\\|") for cell in cells]


def _simple_tables(text):
    """Replace each RST simple table (border, header, border, rows, border) by Markdown."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        borders = [j for j in range(i, len(lines)) if _BORDER.match(lines[j])][:3]
        if len(borders) < 3 or borders[0] != i or borders[1] != i + 2:
            out.append(lines[i])
            i += 1
            continue
        top = lines[i]
        spans = [m.span() for m in re.finditer(r"=+", top)]
        rows = []
        for line in lines[borders[1] + 1:borders[2]]:
            cells = _cells(line, spans)
            if rows and not cells[0]:  # a continuation line: its text joins the row above
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
            elif line.strip():
                rows.append(cells)
        header = _cells(lines[i + 1], spans)
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(spans))
        out.extend("| " + " | ".join(row) + " |" for row in rows)
        i = borders[2] + 1
    return "\n".join(out)


def rewrite(text, obj=None):
    """Docstring ``text`` with its Sphinx roles and ``::`` markers made Markdown."""

    def role(match):
        target = (match["target"] or match["text"]).strip().rstrip("()")
        shown = match["text"].strip()
        if match["tilde"]:
            shown = shown.rsplit(".", 1)[-1]
        identifier = _identifier(obj, target) if obj is not None else target
        return (f'<autoref identifier="{html.escape(identifier)}" optional>'
                f"<code>{html.escape(shown)}</code></autoref>")

    text = _simple_tables(text)
    text = _ROLE.sub(role, text)
    text = _LONE_MARKER.sub("", text)
    return _LITERAL_MARKER.sub(r"\1:", text)


class SphinxRolesToMarkdown(griffe.Extension):
    """Rewrite every docstring once the package is loaded (see the module docstring)."""

    def on_object(self, *, obj, **kwargs):
        if obj.docstring is not None and not obj.is_alias:
            obj.docstring.value = rewrite(obj.docstring.value, obj)

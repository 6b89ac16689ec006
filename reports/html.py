"""One self-contained HTML page per run: the Markdown tables and the figures, nothing external.

The Markdown comes from the table renderers (``reports.tables.to_markdown``, the cost and paper
tables), so the page shows exactly what the ``.md`` files say. Only the subset those renderers
write is converted — headings, pipe tables, bullet lists, paragraphs, ``**bold**``, ``*italic*``
and ```code``` — by `markdown_to_html`; a full Markdown library would be a dependency for
no gain. Figures are embedded as base64 PNG ``data:`` URIs and the style sheet is inline, so the
page opens offline, can be mailed as one file, and makes no network request.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: center; }
td:first-child, th:first-child { text-align: left; }
th { background: #eee; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; }
figcaption { font-size: 0.85em; color: #555; }
"""
_INLINE = [(re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
           (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"<em>\1</em>"),
           (re.compile(r"`([^`]+)`"), r"<code>\1</code>")]
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def _inline(text: str) -> str:
    """Escape ``text`` for HTML, then apply bold / italic / code."""
    out = html.escape(text, quote=False)
    for pattern, repl in _INLINE:
        out = pattern.sub(repl, out)
    return out


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(lines: list[str]) -> str:
    """A pipe table (header, separator, body rows) as an HTML table."""
    header, body = _cells(lines[0]), [_cells(ln) for ln in lines[1:] if not _SEPARATOR.match(ln.strip())]
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in header) + "</tr></thead>",
           "<tbody>"]
    out += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body]
    return "\n".join(out + ["</tbody>", "</table>"])


def _kind(line: str) -> str:
    stripped = line.lstrip()
    if stripped.startswith("|"):
        return "table"
    if stripped.startswith(("- ", "* ")):
        return "list"
    if _HEADING.match(line):
        return "heading"
    return "para" if stripped else "blank"


def _blocks(text: str) -> list[list[str]]:
    """Split Markdown into blocks ([kind, line, ...]) of consecutive lines of the same kind."""
    blocks: list[list[str]] = []
    prev = None
    for ln in text.splitlines():
        kind = _kind(ln)
        if kind != prev or kind == "heading":
            blocks.append([kind])
        blocks[-1].append(ln)
        prev = kind
    return blocks


def markdown_to_html(text: str) -> str:
    """Convert the Markdown subset written by the report renderers (see module docstring)."""
    out = []
    for kind, *lines in _blocks(text):
        if kind == "heading":
            m = _HEADING.match(lines[0])
            level = len(m.group(1))
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        elif kind == "table":
            out.append(_table(lines))
        elif kind == "list":
            items = "".join(f"<li>{_inline(ln.lstrip()[2:])}</li>" for ln in lines)
            out.append(f"<ul>{items}</ul>")
        elif kind == "para":
            out.append(f"<p>{_inline(' '.join(ln.strip() for ln in lines))}</p>")
    return "\n".join(out)


def embed_png(path: Path) -> str:
    """A ``data:image/png;base64,…`` URI of the PNG at ``path`` (a .pdf path uses its .png twin)."""
    path = Path(path)
    png = path.with_suffix(".png")
    data = png.read_bytes()
    if not data.startswith(b"\x89PNG"):
        raise ValueError(f"{png} is not a PNG file")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _figure(path: Path, caption: str) -> str:
    return (f'<figure><img src="{embed_png(path)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def render_page(title: str, markdown: list[str], figures: list[Path] | dict[str, Path] = (),
                intro: str = "") -> str:
    """The HTML page: ``intro`` (Markdown), each Markdown section, then the figures.

    ``figures`` is a list of image paths (captioned with their file stem) or {caption: path};
    PDF paths are shown through their PNG twins, duplicates (a PNG and its PDF) once.
    """
    figs = figures if isinstance(figures, dict) else {Path(p).stem: p for p in figures}
    seen, parts = set(), []
    for caption, path in figs.items():
        key = Path(path).with_suffix(".png")
        if key not in seen:
            seen.add(key)
            parts.append(_figure(key, caption))
    body = [markdown_to_html(intro)] if intro else []
    body += [f"<section>{markdown_to_html(md)}</section>" for md in markdown]
    if parts:
        body.append("<section><h2>Figures</h2>\n" + "\n".join(parts) + "</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def write_page(path: Path, title: str, markdown: list[str],
               figures: list[Path] | dict[str, Path] = (), intro: str = "") -> Path:
    """Write `render_page` to ``path`` (UTF-8) and return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(title, markdown, figures, intro), encoding="utf-8")
    return path

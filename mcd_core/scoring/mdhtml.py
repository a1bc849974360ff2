"""Our markdown tables (table3.md and the like) as a self-contained HTML page, so that the Snakemake
report shows them as tables instead of a download button. Handles what `tables.table_markdown`
writes: a `#` title, pipe tables, `- ` bullets and plain lines."""

from __future__ import annotations

import html

STYLE = ("body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse;margin:6px 0 14px}"
         "td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}td:first-child,th:first-child"
         "{text-align:left}th{background:#eee}")


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:-1]
    cells, cur, i = [], "", 0
    while i < len(inner):
        if inner[i] == "\\" and i + 1 < len(inner) and inner[i + 1] == "|":
            cur, i = cur + "|", i + 2
            continue
        if inner[i] == "|":
            cells.append(cur.strip())
            cur = ""
        else:
            cur += inner[i]
        i += 1
    return [*cells, cur.strip()]


def markdown_to_html(text: str, title: str = "") -> str:
    out: list[str] = []
    table: list[list[str]] = []
    bullets: list[str] = []

    def flush() -> None:
        if table:
            head, body = table[0], [r for r in table[1:] if not all(set(c) <= set("-: ") for c in r)]
            out.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>")
            out.extend("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
            out.append("</table>")
            table.clear()
        if bullets:
            out.append("<ul>" + "".join(f"<li>{html.escape(b)}</li>" for b in bullets) + "</ul>")
            bullets.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|"):
            if bullets:
                flush()
            table.append(_cells(stripped))
            continue
        if stripped.startswith("- "):
            if table:
                flush()
            bullets.append(stripped[2:])
            continue
        flush()
        if stripped.startswith("#"):
            heading = stripped.lstrip("#").strip()
            title = title or heading
            out.append(f"<h2>{html.escape(heading)}</h2>")
        elif stripped:
            out.append(f"<p>{html.escape(stripped)}</p>")
    flush()
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(out)}</body></html>")

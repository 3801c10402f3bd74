"""The HTML rendering of a report: one self-contained file that works offline.

Styles are inline, figures are ``data:`` URIs (base64 PNG or SVG), and the page has no script,
font, stylesheet or image from anywhere else, so it opens the same from a laptop, an e-mail
attachment or a CI artifact, with no network.
"""

from __future__ import annotations

import base64
import html

from .document import Document, FigureBlock, Heading, Para, TableBlock

CSS = """
:root { --fg:#1d2329; --muted:#5b6770; --line:#d6dde3; --bad:#b3261e; --badbg:#fdecea; --head:#f3f6f8; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--fg); margin: 0 auto; padding: 1.2em 2em 4em; max-width: 1300px; }
h1 { font-size: 1.6em; margin: .2em 0 .4em; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 2px solid var(--line); padding-bottom: .2em; }
h3 { font-size: 1.1em; margin-top: 1.4em; }
nav { columns: 3 14em; font-size: .92em; background: var(--head); padding: .6em 1em; border-radius: 6px; }
nav a { display: block; color: #1a5c8e; text-decoration: none; }
nav a.l2 { padding-left: 1em; }
p.note { color: var(--muted); font-size: .92em; margin: .3em 0; }
p.warn { color: var(--bad); background: var(--badbg); padding: .5em .8em; border-left: 4px solid var(--bad); }
/* a table wider than the page scrolls inside its box, never the page: the first column (the
   detector) stays in view, and a shadow on the right edge shows that more columns follow */
.wrap { overflow-x: auto; margin: .6em 0 1em; max-width: 100%;
        background: linear-gradient(to left, #fff 30%, rgba(255,255,255,0))
                      right / 3em 100% no-repeat local,
                    radial-gradient(farthest-side at 100% 50%, rgba(0,0,0,.22), rgba(0,0,0,0))
                      right / 1em 100% no-repeat scroll; }
table { border-collapse: collapse; font-size: .9em; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; color: var(--muted); padding-bottom: .3em; }
th, td { padding: .25em .7em; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { background: var(--head); font-weight: 600; white-space: normal; vertical-align: bottom; }
th:first-child, td:first-child { position: sticky; left: 0; background: #fff; box-shadow: inset -1px 0 var(--line); }
th:first-child { background: var(--head); }
/* narrow windows (a laptop split in two, a phone): smaller type and padding, so that the
   per-dataset tables fit at 800 px without scrolling */
@media (max-width: 960px) {
  body { padding: .8em .8em 3em; }
  table { font-size: .8em; }
  th, td { padding: .2em .4em; }
}
td.l, th.l { text-align: left; } td.r, th.r { text-align: right; }
tr.failed td { background: var(--badbg); }
span.ci { color: var(--muted); font-size: .85em; }
tr.failed td:first-child { border-left: 3px solid var(--bad); }
figure { margin: .8em 0 1.4em; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: .9em; }
code { font: .92em ui-monospace, "DejaVu Sans Mono", monospace; background: var(--head); padding: 0 .25em; border-radius: 3px; }
"""


def inline(text: str) -> str:
    """Escaped text with Markdown's `code` spans as <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts)) if len(parts) % 2 else html.escape(text)


def data_uri(block: FigureBlock) -> str:
    mime = "image/svg+xml" if block.fmt == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(block.data).decode('ascii')}"


def to_html(doc: Document) -> str:
    esc = html.escape
    headings = [b for b in doc.blocks if isinstance(b, Heading) and b.level <= 2]
    nav = "".join(f'<a class="l{h.level}" href="#{h.anchor}">{esc(h.text)}</a>' for h in headings)
    body: list[str] = []
    for block in doc.blocks:
        if isinstance(block, Heading):
            level = block.level + 1
            body.append(f'<h{level} id="{block.anchor}">{esc(block.text)}</h{level}>')
        elif isinstance(block, Para):
            cls = f' class="{block.kind}"' if block.kind != "text" else ""
            body.append(f"<p{cls}>{inline(block.text)}</p>")
        elif isinstance(block, TableBlock):
            caption = f'<p class="note">{inline(block.caption)}</p>' if block.caption else ""
            body.append(f'{caption}<div class="wrap">{block.table.to_html()}</div>')
        elif isinstance(block, FigureBlock):
            body.append(
                f'<figure id="fig-{esc(block.name)}"><img src="{data_uri(block)}" '
                f'alt="{esc(block.caption)}" data-file="{esc(block.path)}">'
                f"<figcaption>{inline(block.caption)}</figcaption></figure>"
            )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # a restrictive policy: nothing may load from anywhere but the page and data: URIs
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">"
        f'<link rel="icon" href="data:,">'
        f"<title>{esc(doc.title)}</title><style>{CSS}</style></head>\n<body>"
        f"<h1>{esc(doc.title)}</h1><nav>{nav}</nav>\n" + "\n".join(body) + "\n</body></html>\n"
    )

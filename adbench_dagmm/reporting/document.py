"""A report as a flat list of blocks (headings, paragraphs, tables, figures) and its Markdown and
LaTeX renderings; the HTML one is in :mod:`adbench_dagmm.reporting.html`.

Building the content once and rendering it per format keeps the three outputs in agreement.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .tables import Table, latex_escape


@dataclasses.dataclass
class Heading:
    level: int
    text: str

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.text.lower()).strip("-")


@dataclasses.dataclass
class Para:
    text: str
    kind: str = "text"  # "text", "note" (muted) or "warn" (failed runs, tests not run)


@dataclasses.dataclass
class TableBlock:
    table: Table
    caption: str = ""


@dataclasses.dataclass
class FigureBlock:
    name: str  # file stem under figures/
    caption: str
    data: bytes
    fmt: str  # "png" or "svg"
    job: tuple[str, tuple[Any, ...]] | None = None  # (plots function, arguments) that draws it

    @property
    def path(self) -> str:
        return f"figures/{self.name}.{self.fmt}"


Block = Heading | Para | TableBlock | FigureBlock


@dataclasses.dataclass
class Document:
    title: str
    blocks: list[Block] = dataclasses.field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    @property
    def figures(self) -> list[FigureBlock]:
        return [b for b in self.blocks if isinstance(b, FigureBlock)]


def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", ""]
    for block in doc.blocks:
        if isinstance(block, Heading):
            out += ["#" * (block.level + 1) + " " + block.text, ""]
        elif isinstance(block, Para):
            prefix = {"warn": "> **⚠** ", "note": "> "}.get(block.kind, "")
            out += [prefix + block.text, ""]
        elif isinstance(block, TableBlock):
            if block.caption:
                out += [f"*{block.caption}*", ""]
            out += [block.table.to_markdown(), ""]
        elif isinstance(block, FigureBlock):
            out += [f"![{block.caption}]({block.path})", ""]
    return "\n".join(out).rstrip() + "\n"


def to_latex(doc: Document) -> str:
    out = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[utf8]{inputenc}\usepackage[T1]{fontenc}",
        r"\usepackage[margin=2cm,landscape]{geometry}",
        r"\usepackage{booktabs,graphicx,caption}",
        r"\title{" + latex_escape(doc.title) + "}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
    ]
    for block in doc.blocks:
        if isinstance(block, Heading):
            command = {1: "section", 2: "subsection"}.get(block.level, "subsubsection")
            out.append(rf"\{command}*{{{latex_escape(block.text)}}}")
        elif isinstance(block, Para):
            text = latex_escape(block.text)
            out.append((r"\textbf{(!)} " + text if block.kind == "warn" else text) + "\n")
        elif isinstance(block, TableBlock):
            out.append(r"\begin{table}[h!]\centering\small")
            if block.caption:
                out.append(r"\caption*{" + latex_escape(block.caption) + "}")
            body = block.table.to_latex()
            if len(block.table.columns) > 6:
                notes = ""
                if r"\par\smallskip" in body:
                    body, notes = body.split(r"\par\smallskip", 1)
                    notes = r"\par\smallskip" + notes
                body = r"\resizebox{\linewidth}{!}{" + body + "}" + notes
            out += [body, r"\end{table}"]
        elif isinstance(block, FigureBlock):
            if block.fmt == "png":
                out += [r"\begin{figure}[h!]\centering",
                        r"\includegraphics[width=0.8\linewidth]{" + block.path + "}",
                        r"\caption*{" + latex_escape(block.caption) + "}", r"\end{figure}"]
            else:  # pdflatex cannot include SVG
                out.append(latex_escape(f"Figure: {block.caption} ({block.path})") + "\n")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"

"""The vault's floor: every note of a vault as plain Markdown through WeasyPrint.

    python -m bench.vault_floor VAULT OUT.pdf

Each `*.md` file of the folder (hidden folders left out, as the build leaves them out),
in path order, rendered by python-markdown with the tables and fenced-code extensions,
under an <h1> of its path, joined into one HTML document that WeasyPrint lays out and
writes in this one process, with no stylesheet. Images are left out (`<img>` removed):
the floor measures laying text out, not reading pictures.
"""

from __future__ import annotations

import argparse
import html
import re
from pathlib import Path

IMG_RE = re.compile(r"<img\b[^>]*>")


def notes(vault: Path) -> list[Path]:
    return sorted(
        p
        for p in vault.rglob("*.md")
        if not any(part.startswith(".") for part in p.relative_to(vault).parts)
    )


def document(vault: Path) -> str:
    import markdown

    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>Vault</title></head><body>"]
    for path in notes(vault):
        text = path.read_text(encoding="utf-8", errors="replace")
        body = markdown.markdown(text, extensions=["tables", "fenced_code"])
        parts.append(f"<h1>{html.escape(path.relative_to(vault).as_posix())}</h1>")
        parts.append(IMG_RE.sub("", body))
    parts.append("</body></html>")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("vault", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    import weasyprint

    weasyprint.HTML(string=document(args.vault)).write_pdf(args.target)


if __name__ == "__main__":
    main()

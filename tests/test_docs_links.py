"""Every link in README.md and docs/ points at a file that exists (and at a heading it has), and every
docs/ page is reachable from the README."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slug(m) for m in re.findall(r"^#+ (.*)$", text, re.M)}


def links(page: Path) -> list[tuple[Path, str]]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    out = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path, _, anchor = target.partition("#")
        out.append(((page.parent / path).resolve() if path else page, anchor))
    return out


def test_every_link_points_at_an_existing_file_and_heading():
    bad = []
    for page in PAGES:
        for target, anchor in links(page):
            if not target.exists():
                bad.append(f"{page.relative_to(ROOT)} -> {target}")
            elif anchor and target.suffix == ".md" and anchor not in anchors(target):
                bad.append(f"{page.relative_to(ROOT)} -> {target.name}#{anchor} (no such heading)")
    assert not bad, "\n".join(bad)


def test_every_docs_page_is_reachable_from_the_readme():
    seen, todo = set(), [ROOT / "README.md"]
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        todo += [t for t, _ in links(page) if t.suffix == ".md" and t.exists()]
    orphans = [str(p.relative_to(ROOT)) for p in PAGES if p not in seen]
    assert not orphans, f"pages no link leads to: {orphans}"

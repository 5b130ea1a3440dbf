"""A reproducible note corpus in our syntax: N files × M facts of mixed kinds, with
headings, prose, tags and the odd table, from a fixed seed."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = [
    "policy",
    "treaty",
    "mineral",
    "lithium",
    "cobalt",
    "supply",
    "chain",
    "strategic",
    "partnership",
    "defence",
    "technology",
    "semiconductor",
    "quantum",
    "trade",
    "tariff",
    "export",
    "control",
    "alliance",
    "ministry",
    "mission",
    "initiative",
    "cooperation",
    "security",
    "investment",
    "infrastructure",
    "energy",
    "climate",
    "maritime",
    "cyber",
    "governance",
    "education",
    "mobility",
    "research",
    "reserve",
    "production",
    "index",
]


def phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def fact(rng: random.Random, i: int) -> str:
    kind = i % 10
    q, a = phrase(rng, rng.randint(3, 8)).capitalize(), phrase(rng, rng.randint(2, 9))
    tag = f" #t{rng.randint(1, 12)}" if rng.random() < 0.3 else ""
    if kind < 5:
        return f"- {q} {i} :: {a}{tag}"
    if kind < 6:
        return f"- {q.split()[0].upper()}{i} ::: {a}{tag}"
    if kind < 9:
        return f"- {q} in {{{{{rng.randint(1900, 2030)}}}}} with {{{{{a}}}}} ({i}).{tag}"
    items = "\n".join(f"  - {phrase(rng, 3)}" for _ in range(rng.randint(2, 4)))
    return f"- {q} {i} ::\n{items}"


def note(rng: random.Random, file_no: int, facts: int) -> str:
    lines = [
        f"---\ntitle: Topic {file_no}\ntags: [bench, gs{file_no % 4 + 1}]\n---",
        f"# Topic {file_no}",
        "",
        phrase(rng, 30).capitalize() + ".",
        "",
    ]
    per_section = 10
    for i in range(facts):
        if i % per_section == 0:
            lines += [
                "",
                f"## Section {i // per_section + 1} #s{i // per_section % 5}",
                "",
                phrase(rng, 20).capitalize() + ".",
                "",
            ]
        lines.append(fact(rng, file_no * 100_000 + i))
    return "\n".join(lines) + "\n"


def write_corpus(root: Path, files: int, facts_per_file: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    for f in range(files):
        path = root / f"part{f // 25:02d}" / f"topic-{f:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(note(rng, f, facts_per_file), encoding="utf-8")
    return root

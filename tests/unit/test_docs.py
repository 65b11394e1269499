"""The docs stay true: every setting and every check id is documented."""

import re
from pathlib import Path

from django_tryon.conf import DEFAULTS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_setting_is_documented():
    text = (DOCS / "settings.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", text, flags=re.M))
    assert documented == set(DEFAULTS)


def test_every_check_id_is_documented():
    checks = Path(__file__).resolve().parents[2] / "django_tryon" / "checks"
    source = "\n".join(path.read_text() for path in checks.glob("*.py"))
    ids = set(re.findall(r'id="(django_tryon\.[EW]\d{3})"', source))
    assert len(ids) >= 20
    text = (DOCS / "settings.md").read_text()
    assert ids and ids <= set(re.findall(r"`(django_tryon\.[EW]\d{3})`", text))


def test_every_relative_link_in_the_docs_reaches_a_file():
    """Moving a page (providers.md split into one page per provider) must not strand links."""
    root = Path(__file__).resolve().parents[2]
    pages = [root / "README.md", *DOCS.rglob("*.md")]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a URL or an anchor on the same page
            path = target.split("#", 1)[0]
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(root)} -> {target}")
    assert len(pages) >= 12
    assert not broken, broken

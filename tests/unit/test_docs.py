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

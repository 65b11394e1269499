"""What the tests of the app's own admin pages check the same way."""

from __future__ import annotations

import re


def assert_app_page(html: str, page_class: str, changelist: str) -> None:
    """One of the app's own admin pages: its stylesheet, body class and breadcrumbs."""
    assert "django_tryon/admin/tryon-admin.css" in html
    assert re.search(r'<body class="[^"]*\b' + page_class + r"\b", html)
    breadcrumbs = html.split('<div class="breadcrumbs">', 1)[1].split("</div>", 1)[0]
    assert f'href="{changelist}"' in breadcrumbs

"""The README's "Install into your shop" section, followed word for word in a fresh
`django-admin startproject`, with the sandbox: it ends with a stored result.

The snippets are read from README.md itself, so the README cannot drift from what works.
Only the ports change (free ones instead of 8000 and 8765). No environment variable is set:
the settings block must load as pasted (the sandbox snippet then replaces the providers).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kit import imagegen
from kit.processes import free_port
from tests.integration.recipes import code_blocks, run

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def test_the_readme_install_section_ends_with_a_stored_result(tmp_path):
    blocks = code_blocks("README.md", "## Install into your shop", "\nOn a product page")
    settings_and_urls, sandbox_settings = blocks["python"][:2]
    settings_part, urls_part = settings_and_urls.split("# urls.py", 1)
    shell = "\n".join(blocks["sh"])
    assert "python manage.py migrate" in shell and "--inline" in shell

    port, sandbox_port = free_port(), free_port()
    sandbox_settings = sandbox_settings.replace("8765", str(sandbox_port)).replace(
        "8000", str(port)
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TRYON_", "SHOP_", "DJANGO_", "DATABASE_", "CELERY_", "KLING_"))
    }
    run([sys.executable, "-m", "django", "startproject", "myshop"], tmp_path, env)
    project = tmp_path / "myshop"
    settings_py = project / "myshop" / "settings.py"
    settings_py.write_text(settings_py.read_text() + "\n" + settings_part + "\n" + sandbox_settings)
    urls_py = project / "myshop" / "urls.py"
    urls_py.write_text(urls_py.read_text() + "\n" + urls_part)

    sandbox = subprocess.Popen(
        [sys.executable, "-m", "django_tryon.sandbox", "--port", str(sandbox_port),
         "--queue-seconds", "0", "--generation-seconds", "0.5"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert "listening on" in sandbox.stdout.readline()
        manage = [sys.executable, "manage.py"]
        run([*manage, "migrate", "--noinput"], project, env)
        check = run([*manage, "check"], project, env)
        # Nothing of ours but what the README mentions: polls read the database until
        # the shop has a shared cache, startproject's SQLite has no busy timeout, and a
        # new project has no Celery app (this trial runs --inline).
        ours = re.findall(r"django_tryon\.[EWI]\d+", check.stdout + check.stderr)
        expected = ["django_tryon.I001", "django_tryon.W013", "django_tryon.W014"]
        assert sorted(ours) == expected, check.stdout + check.stderr
        assert '"transaction_mode": "IMMEDIATE"' in check.stdout + check.stderr
        (project / "me.jpg").write_bytes(imagegen.make_person())
        (project / "shirt.png").write_bytes(imagegen.make_garment("upper"))
        command = next(line for line in shell.splitlines() if "manage.py tryon" in line)
        proc = run([*manage, *command.split()[2:], "--json"], project, env)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    summary = json.loads(proc.stdout)
    assert summary["status"] == "succeeded", proc.stderr
    stored = Path(summary["results"][0]["file"])
    assert stored.is_file() and stored.is_relative_to(project)
    assert stored.read_bytes().startswith(b"\x89PNG")

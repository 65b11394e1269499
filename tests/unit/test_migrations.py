from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # makemigrations --check exits 1 when a migration is missing
        pytest.fail(f"missing migrations:\n{out.getvalue()}\n(exit {exc.code})")


@pytest.mark.django_db(transaction=True)
def test_garments_the_terminal_made_before_0005_leave_the_catalogue():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    before, after = (
        [("django_tryon", "0004_catalogue_image_changes")],
        [("django_tryon", "0005_garment_from_terminal")],
    )
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("django_tryon", "Garment")
    old.objects.create(name="Terminal: shirt.png", category="upper", active=False, image="x.png")
    old.objects.create(name="Terminal shirt", category="upper", active=True, image="y.png")
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps.get_model("django_tryon", "Garment")
    marked = dict(new.objects.values_list("name", "from_terminal"))
    assert marked == {"Terminal: shirt.png": True, "Terminal shirt": False}
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("django_tryon"))

"""Garment.from_terminal: the terminal command's garments leave the merchandiser's list.
And ModelPhoto is called what the admin calls it everywhere else: a house model.

Garments it made before this field existed are recognised by the name and state it gave
them ("Terminal: <file name>", not offered to shoppers).
"""

from django.db import migrations, models


def mark_terminal_garments(apps, schema_editor):
    Garment = apps.get_model("django_tryon", "Garment")
    Garment.objects.filter(name__startswith="Terminal: ", active=False).update(from_terminal=True)


class Migration(migrations.Migration):
    dependencies = [
        ("django_tryon", "0004_catalogue_image_changes"),
    ]

    operations = [
        migrations.AddField(
            model_name="garment",
            name="from_terminal",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(mark_terminal_garments, migrations.RunPython.noop),
        migrations.AlterModelOptions(
            name="modelphoto",
            options={
                "ordering": ["name"],
                "verbose_name": "house model",
                "verbose_name_plural": "house models",
            },
        ),
    ]

from django.db import migrations, models


def price_the_shops_own_currency(apps, schema_editor):
    """A cost billed in the shop's own currency needs no price: one unit is one unit.
    Costs in any other currency stay unpriced (shown as billed): no price is guessed."""
    from django_tryon.conf import get_setting

    currency = get_setting("CURRENCY")
    if currency:
        apps.get_model("django_tryon", "TryOnRequest").objects.filter(
            cost_currency=currency, unit_price__isnull=True
        ).update(unit_price=1, shop_currency=currency)


class Migration(migrations.Migration):
    dependencies = [
        ("django_tryon", "0005_garment_from_terminal"),
    ]

    operations = [
        migrations.AddField(
            model_name="tryonrequest",
            name="shop_currency",
            field=models.CharField(blank=True, max_length=8),
        ),
        migrations.AddField(
            model_name="tryonrequest",
            name="unit_price",
            field=models.DecimalField(blank=True, decimal_places=6, max_digits=12, null=True),
        ),
        migrations.RunPython(price_the_shops_own_currency, migrations.RunPython.noop),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="category",
            field=models.CharField(
                blank=True,
                help_text="The shop's own category, e.g. T-shirts or Jeans: "
                "TRYON['CATALOGUE']['CATEGORY_MAP'] turns it into a garment category.",
                max_length=100,
            ),
        ),
    ]

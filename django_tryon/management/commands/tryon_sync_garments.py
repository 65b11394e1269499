"""``manage.py tryon_sync_garments``: one garment per product of the shop's product model.

Reads ``TRYON["CATALOGUE"]`` (docs/shops.md). Creates the garment of a product that has
none, updates one whose image, name or category changed, and lists every product it
cannot place (no category in CATEGORY_MAP, two of them, no image), skipping it. Running
it again changes nothing. Exit codes as the ``tryon`` command's: 0 every product placed,
1 some skipped (listed), 2 bad input (no CATALOGUE, an unknown product).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from django_tryon import products

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Create or update one try-on garment per product (TRYON['CATALOGUE'])."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="say what it would do")
        parser.add_argument(
            "--product", action="append", default=[], metavar="PK", help="only these products"
        )

    def handle(self, *args, **opts):
        try:
            model = products.product_model()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from None
        chosen = None
        if opts["product"]:
            chosen = list(model._default_manager.filter(pk__in=opts["product"]))
            missing = set(opts["product"]) - {str(p.pk) for p in chosen}
            if missing:
                raise CommandError(
                    f"--product: no {model._meta.verbose_name} {', '.join(sorted(missing))}",
                    returncode=BAD_INPUT,
                )
        report = products.sync(chosen, dry_run=opts["dry_run"])
        would = "would be " if opts["dry_run"] else ""
        for verb, done in (("created", report.created), ("updated", report.updated)):
            for product in done:
                self.stdout.write(f"{would}{verb}: {product} ({product.pk})")
        for product, why in report.skipped:
            self.stdout.write(f"skipped: {product} ({product.pk}): {why}")
        self.stdout.write(
            f"{len(report.created)} {would}created, {len(report.updated)} {would}updated, "
            f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped"
        )
        if report.skipped:
            raise CommandError(
                f"{len(report.skipped)} product(s) could not be placed (listed above)",
                returncode=1,
            )

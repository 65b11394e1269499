"""Fill the example shop with demo data: products, try-on garments, house models, an admin.

Idempotent: what already exists (matched by product slug, garment SKU, model photo name
and username) is left alone, so running it twice creates nothing new. All pictures are
drawn on the fly by ``shop.demo_images``; nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction

from django_tryon import products
from django_tryon.models import Garment, ModelPhoto
from shop.demo_images import garment_image, person_image
from shop.models import Product


@dataclass(frozen=True)
class DemoGarment:
    name: str
    slug: str
    kind: str  # a shop.demo_images.GARMENT_KINDS key
    category: str  # the shop's category (TRYON["CATALOGUE"]["CATEGORY_MAP"] maps it)
    color: tuple[int, int, int]
    price: str
    description: str


DEMO_GARMENTS = [
    DemoGarment(
        "Red T-shirt", "red-t-shirt", "tshirt", "T-shirts", (200, 30, 40), "19.00",
        "A classic crew-neck T-shirt in soft organic cotton. Regular fit.",
    ),
    DemoGarment(
        "Striped shirt", "striped-shirt", "shirt", "Shirts", (40, 70, 150), "39.00",
        "A navy and white Breton-striped button-down shirt with a chest pocket.",
    ),
    DemoGarment(
        "Blue jeans", "blue-jeans", "jeans", "Jeans", (40, 70, 130), "59.00",
        "Straight-leg five-pocket jeans in mid-blue denim with contrast stitching.",
    ),
    DemoGarment(
        "Khaki shorts", "khaki-shorts", "shorts", "Shorts", (190, 170, 120), "29.00",
        "Relaxed chino shorts in khaki cotton twill, for warm days.",
    ),
    DemoGarment(
        "Summer dress", "summer-dress", "dress", "Dresses", (240, 180, 60), "49.00",
        "A light sleeveless dress with polka dots and a flared skirt.",
    ),
    DemoGarment(
        "Evening dress", "evening-dress", "evening-dress", "Dresses", (30, 30, 70), "129.00",
        "A floor-length satin gown with a V-neck and a tie sash at the waist.",
    ),
]  # fmt: skip

# House models: name and the seed of their drawing (shop.demo_images.person_image).
DEMO_MODELS = [("Alex", 0), ("Sam", 1), ("Jordan", 2)]


class Command(BaseCommand):
    help = (
        "Create the demo catalogue (6 products with try-on garments), 3 house model photos "
        "and an 'admin' superuser. Safe to run again: nothing is created twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-password",
            default="admin",
            help="Password of the 'admin' superuser if it is created (default: admin).",
        )
        parser.add_argument(
            "--no-admin", action="store_true", help="Do not create the 'admin' superuser."
        )

    def handle(self, *args, **options):
        with transaction.atomic():
            products, garments = self._seed_catalogue()
            models = self._seed_model_photos()
        samples = self._write_samples()
        admin_line = "skipped (--no-admin)"
        if not options["no_admin"]:
            admin_line = self._seed_admin(options["admin_password"])

        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        for label, created, total in (
            ("Products", products, Product.objects.count()),
            ("Garments", garments, Garment.objects.count()),
            ("Model photos", models, ModelPhoto.objects.count()),
        ):
            self.stdout.write(f"  {label + ':':<14}{created} created, {total} in total")
        self.stdout.write(f"  {'Admin login:':<14}{admin_line}")
        self.stdout.write(f"  {'Sample files:':<14}{samples} (for the tryon command)")
        self.stdout.write("  Shop: http://127.0.0.1:8000/   Admin: http://127.0.0.1:8000/admin/")

    def _seed_catalogue(self) -> tuple[int, int]:
        """The products, then their garments the way any shop makes them: the sync of
        TRYON["CATALOGUE"] (docs/shops.md), which makes each one from its product."""
        new_products = 0
        for spec in DEMO_GARMENTS:
            product = Product.objects.filter(slug=spec.slug).first()
            if product is None:
                product = Product(
                    name=spec.name,
                    slug=spec.slug,
                    price=Decimal(spec.price),
                    description=spec.description,
                )
                new_products += 1
            if not product.category:  # new, or made before products had categories
                product.category = spec.category
            if not product.image:  # new, or an existing product without a picture
                picture = garment_image(spec.kind, spec.color, size=800, fmt="JPEG")
                product.image.save(f"{spec.slug}.jpg", ContentFile(picture), save=False)
            product.save()
        slugs = [spec.slug for spec in DEMO_GARMENTS]
        report = products.sync(Product.objects.filter(slug__in=slugs))
        return new_products, len(report.created)

    def _write_samples(self) -> Path:
        """Sample images for ``manage.py tryon``: a person photo and one garment a category."""
        folder = Path(getattr(settings, "VAR_DIR", Path.cwd() / "var")) / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "person.jpg").write_bytes(person_image(7))
        for spec, category in zip(DEMO_GARMENTS[::2], ("upper", "lower", "dress"), strict=True):
            image = garment_image(spec.kind, spec.color, size=800)
            (folder / f"garment-{category}.png").write_bytes(image)
        return folder

    def _seed_model_photos(self) -> int:
        created = 0
        for name, seed in DEMO_MODELS:
            if ModelPhoto.objects.filter(name=name).exists():
                continue
            # The first house model is also offered to shoppers in the widget.
            photo = ModelPhoto(name=name, offer_to_shoppers=(seed == 0))
            photo.image.save(f"{name.lower()}.jpg", ContentFile(person_image(seed)), save=False)
            photo.save()
            created += 1
        return created

    def _seed_admin(self, password: str) -> str:
        User = get_user_model()
        lookup = {User.USERNAME_FIELD: "admin"}
        if User._default_manager.filter(**lookup).exists():
            return "user 'admin' already exists (password unchanged)"
        User._default_manager.create_superuser(
            **lookup, email="admin@example.com", password=password
        )
        return f"user 'admin', password '{password}'"

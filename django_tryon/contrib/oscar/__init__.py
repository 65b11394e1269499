"""django-tryon in a django-oscar shop: add ``"django_tryon.contrib.oscar"`` to
INSTALLED_APPS before Oscar's apps (docs/shops.md). Oscar's own product page then shows
the try-on, "Add to cart" goes into Oscar's basket, the dashboard links to the try-on
pages, and orders of tried-on products are counted."""

from django.urls import path

from . import views

app_name = "shop"

urlpatterns = [
    path("", views.product_list, name="product-list"),
    path("products/<slug:slug>/", views.product_detail, name="product-detail"),
    path("cart/add/<slug:slug>/", views.add_to_cart, name="add-to-cart"),
    path("privacy/", views.privacy, name="privacy"),
]

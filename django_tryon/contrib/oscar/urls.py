"""Under the try-on URLs (``django_tryon.urls`` includes these when the app is installed)."""

from django.urls import path

from . import views

app_name = "tryon_oscar"
urlpatterns = [
    path("basket/add/<int:pk>/", views.AddToBasketView.as_view(), name="basket-add"),
]

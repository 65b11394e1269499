"""The bulk try-on page's form: which garments go to which provider, and what it costs.

Each selected garment is planned before anything is paid (``services.plan_batch``): to
the provider picked, or, with "Each where the shop's route sends it", to the first
provider on the admin's route for its category (or for outfits) that takes it and is
available now. The page shows each garment's provider and price, and the total; the
page's script works out the same figures while things are picked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from .. import images, quotas, routing, services
from ..conf import get_setting
from ..models import Garment, ModelPhoto
from ..providers import get_provider, provider_names
from .display import charge_text, money, provider_label, short_provider_label

#: One web request creates every try-on of a batch, so a batch has a ceiling.
MAX_TRYONS_PER_BATCH = 1000
#: The provider choice that sends each garment where the admin's route for it says.
BY_ROUTE = "route"


class GarmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.get_category_display()})"


class BulkTryOnForm(forms.Form):
    """Pick house models, an optional second garment, a provider and a batch size."""

    model_photos = forms.ModelMultipleChoiceField(
        queryset=ModelPhoto.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label=_("House models"),
        error_messages={"required": _("Pick at least one house model.")},
    )
    lower_garment = GarmentChoiceField(
        queryset=Garment.objects.none(),
        required=False,
        label=_("Wear with (optional)"),
        empty_label=_("Nothing: each garment on its own"),
        help_text=_(
            "Makes outfits: each selected garment is tried on together with this one. "
            "An outfit is one top and one bottom; a dress is always worn alone."
        ),
    )
    provider = forms.ChoiceField(label=_("Provider"))
    batch_size = forms.TypedChoiceField(
        coerce=int,
        label=_("Images per try-on"),
        initial=1,
        help_text=_("Each image is paid for."),
    )
    note = forms.CharField(
        max_length=200,
        required=False,
        label=_("Note"),
        help_text=_("For you and your colleagues, e.g. 'spring lookbook'."),
    )

    def __init__(self, *args, garments, **kwargs):
        super().__init__(*args, **kwargs)
        self.garments = list(garments)
        self.fields["model_photos"].queryset = ModelPhoto.objects.filter(active=True)
        lower = self.fields["lower_garment"]
        lower.queryset = Garment.objects.filter(active=True).order_by("category", "name")
        self.providers = {choice.name: choice for choice in available_providers()}
        choices = [(c.name, c.label) for c in self.providers.values()]
        if self.providers and routing.routed_shop():
            # With a route, each garment may go to another provider (shoes to the one
            # that takes shoes): offered first, as the route is the shop's own choice.
            choices.insert(0, (BY_ROUTE, _("Each where the shop's route sends it")))
        self.fields["provider"].choices = choices
        if choices:
            self.fields["provider"].initial = choices[0][0]
        largest = max((c.max_batch_size for c in self.providers.values()), default=1)
        self.fields["batch_size"].choices = [(n, str(n)) for n in range(1, largest + 1)]

    def clean(self):
        data = super().clean()
        if not self.providers:
            raise ValidationError(_("No try-on provider is configured (TRYON['PROVIDERS'])."))
        choice = self.providers.get(data.get("provider"))
        size = data.get("batch_size")
        if choice and size and size > choice.max_batch_size:
            self.add_error(
                "batch_size",
                f"{choice.label} makes at most {choice.max_batch_size} "
                f"image{'' if choice.max_batch_size == 1 else 's'} per try-on.",
            )
        switched_off = [g.name for g in self.garments if not g.active]
        if switched_off:
            self.add_error(
                None,
                f"Switched off for try-on: {', '.join(switched_off)}. Switch "
                f"{'it' if len(switched_off) == 1 else 'them'} on first, or leave "
                f"{'it' if len(switched_off) == 1 else 'them'} out.",
            )
        lower = data.get("lower_garment")
        if lower is not None:
            self._check_outfits(lower)
        if size and data.get("provider") and not self.errors:
            self._check_plan(data["provider"], size, lower)
        photos = data.get("model_photos")
        if photos is not None and self.count(len(photos)) > MAX_TRYONS_PER_BATCH:
            self.add_error(
                None,
                f"That is {self.count(len(photos))} try-ons; one batch can have at most "
                f"{MAX_TRYONS_PER_BATCH}. Select fewer garments or house models.",
            )
        return data

    def provider_name(self) -> str | None:
        """The provider picked, or None for "each where the route sends it"."""
        value = self.cleaned_data["provider"]
        return None if value == BY_ROUTE else value

    def _check_outfits(self, lower: Garment) -> None:
        if any(g.pk == lower.pk for g in self.garments):
            self.add_error(
                "lower_garment",
                f"'{lower.name}' is one of the selected garments: it cannot be worn with itself.",
            )
            return
        refused: dict[str, list[str]] = {}
        for garment in self.garments:
            try:
                services.check_outfit(garment.category, lower.category)
            except images.ImageError as exc:
                refused.setdefault(exc.message, []).append(garment.name)
        for message, names in refused.items():
            self.add_error("lower_garment", f"{', '.join(names)} with {lower.name}: {message}")

    def _check_plan(self, provider: str, size: int, lower) -> None:
        """Refuse, before anything is paid, garments no provider would take."""
        refused = [
            f"{garment.name} ({garment.get_category_display()})"
            for garment, chosen in self.plan(provider, size, lower)
            if chosen is None
        ]
        if not refused:
            return
        if provider == BY_ROUTE:
            where = "No provider on the shop's route for them can try on"
        else:
            where = f"{provider_label(provider)} cannot try on"
        self.add_error(
            None, f"{where}: {', '.join(refused)}. Pick another provider, or leave them out."
        )

    def plan(self, provider: str, size: int, lower) -> list[tuple[Garment, str | None]]:
        named = None if provider == BY_ROUTE else provider
        return services.plan_batch(self.garments, named, size, lower)

    def count(self, photos: int) -> int:
        return len(self.garments) * photos

    def estimate(self) -> dict:
        """How many try-ons, where each garment goes and what they should cost, from what
        is picked so far. Read from the submitted values as they are (for display):
        confirming validates."""
        raw = self.data if self.is_bound else QueryDict()
        picked = [p for p in raw.getlist("model_photos") if p]
        provider = raw.get("provider") or self.fields["provider"].initial
        if provider != BY_ROUTE and provider not in self.providers:
            provider = next(iter(self.providers), None)
        size = _int(raw.get("batch_size"))
        lower = Garment.objects.filter(pk=_int(raw.get("lower_garment"), 0)).first()
        planned = self.plan(provider, size, lower) if provider else []
        planned = planned or [(garment, None) for garment in self.garments]
        made = self._already_made(planned, picked, size, lower)
        charges, rows = [], []
        for garment, chosen in planned:
            charge = self._charge(chosen, garment.category, size)
            rows.append({"garment": garment, "provider": chosen, "charge": charge})
            new = len(picked) - sum(1 for pair in made if pair[0] == str(garment.pk))
            if charge is not None:
                charges.append(charge.times(new))
        count = self.count(len(picked)) - len(made)
        estimate = {
            "count": count,
            "garments": len(self.garments),
            "photos": len(picked),
            "made": len(made),
            "nothing_new": bool(picked) and count == 0,
            "plan": [_plan_row(row, provider) for row in rows],
        }
        if any(row["provider"] is None for row in rows):
            estimate["refused"] = True  # confirming would be refused: said on the cards
        each = {charge_text(row["charge"]) for row in rows if row["charge"] is not None}
        if len(each) == 1:
            estimate["each"] = each.pop()
        if rows and all(row["charge"] is not None for row in rows):
            estimate["total"] = total_text(charges)
            blocked = self._blocked(charges) if count else ""
            if blocked:
                estimate["blocked"] = blocked
        return estimate

    def _charge(self, provider: str | None, category: str, size: int):
        choice = self.providers.get(provider or "")
        prices = choice.prices.get(category, {}) if choice else {}
        return prices.get(size) or prices.get(1)

    def _blocked(self, charges) -> str:
        """A read-only look at the shop's limits (each provider's part on its own);
        creating the batch enforces them, all together."""
        for whole in quotas.added_up(charges):
            allowance = quotas.remaining("", enforce_shopper=False, next_charge=whole)
            if not allowance.available:
                return allowance.message
        return ""

    def _already_made(self, planned, picked, size, lower) -> set[tuple]:
        """The picked (garment, house model) pairs that already have a result (or one
        being made) at the provider each garment goes to: a run would not repeat them."""
        if not picked or not planned:
            return set()
        if lower is None:  # what the page's script counts with, worked out once
            return {
                (str(garment.pk), str(photo))
                for garment, chosen in planned
                for photo in picked
                if str(garment.pk)
                in self.made_by_photo.get(chosen or "", {}).get(str(size), {}).get(str(photo), [])
            }
        photos = list(ModelPhoto.objects.filter(pk__in=picked))
        made = set()
        for name in {chosen for _g, chosen in planned if chosen}:
            garments = [g for g, chosen in planned if chosen == name]
            found = services.already_made(
                garments, photos, provider=name, batch_size=size, lower_garment=lower
            )
            made |= {(str(g), str(p)) for g, p in found}
        return made

    @cached_property
    def made_by_photo(self) -> dict:
        """Per provider and batch size, which selected garments each active house model
        already has (with no lower garment picked): for the page's script, and the
        estimate's own count (one query per provider and batch size, once per page)."""
        if not self.garments:
            return {}
        photos = list(ModelPhoto.objects.filter(active=True))
        found: dict = {}
        for name, choice in self.providers.items():
            for size in choice.costs:
                made = services.already_made(self.garments, photos, provider=name, batch_size=size)
                per_photo: dict[str, list[str]] = {}
                for garment, photo in sorted(made, key=str):
                    per_photo.setdefault(str(photo), []).append(str(garment))
                found.setdefault(name, {})[str(size)] = per_photo
        return found

    def routes_json(self) -> dict:
        """For the page's script: per garment category of the selection (and for
        outfits), the admin route's providers in order, each with whether it is
        available now, so "each where the route sends it" is planned as on the server."""
        whats = {g.category for g in self.garments} | {routing.OUTFIT}
        return {
            what: [
                [name, routing.unavailable_now(name) is None]
                for name in routing.route("admin", what)
                if name in self.providers
            ]
            for what in sorted(whats)
        }


@dataclass(frozen=True)
class ProviderChoice:
    """A configured provider as the bulk page offers it."""

    name: str
    label: str
    max_batch_size: int
    #: whether it takes an upper and a lower garment at once
    outfits: bool
    #: garment category -> batch size -> what one try-on counts (its cost, and its price
    #: in the shop's money), for each category it takes
    prices: dict[str, dict[int, quotas.Charge]]

    @property
    def costs(self) -> dict[int, quotas.Charge]:
        """What a try-on of clothing (an upper garment) counts, per batch size."""
        return self.prices.get("upper") or next(iter(self.prices.values()))

    def as_json(self) -> dict:
        return {
            "label": self.label,
            "max_batch_size": self.max_batch_size,
            "outfits": self.outfits,
            "prices": {
                category: {
                    str(n): [str(c.amount), c.currency, str(c.price or ""), c.shop_currency]
                    for n, c in costs.items()
                }
                for category, costs in self.prices.items()
            },
        }


def available_providers() -> list[ProviderChoice]:
    """Providers that are configured and usable now: first the one the admin's route
    (``TRYON["ROUTING"]``) would use now, else the default provider."""
    default = routing.first_available("admin")
    choices = []
    for name in provider_names():
        try:
            adapter = get_provider(name)
        except ImproperlyConfigured:
            continue
        if adapter.needs_input_urls and not get_setting("PUBLIC_BASE_URL"):
            continue
        sizes = range(1, adapter.max_batch_size + 1)
        prices = {
            category: {n: services.charge_for(adapter, n, category) for n in sizes}
            for category in sorted(adapter.garment_categories)
        }
        outfits = adapter.composes_outfits or adapter.takes_lower_garment
        choices.append(
            ProviderChoice(name, provider_label(name), adapter.max_batch_size, outfits, prices)
        )
    return sorted(choices, key=lambda c: (c.name != default, c.name))


def total_text(charges: list[quotas.Charge]) -> str:
    """What several providers' try-ons cost together: in the shop's money when each has
    a price in it, with what each bills beside it (``$0.86 (2 units + 8 credits)``)."""
    wholes = quotas.added_up(charges)
    if len(wholes) <= 1:
        return charge_text(wholes[0]) if wholes else money(Decimal("0"), get_setting("CURRENCY"))
    billed = " + ".join(money(w.amount, w.currency) for w in wholes)
    if all(w.price is not None and w.shop_currency for w in wholes):
        in_money = sum((w.amount * w.price for w in wholes), Decimal("0"))
        shop = wholes[0].shop_currency
        return f"{money(in_money.quantize(Decimal('0.01')), shop)} ({billed})"
    return billed


def _plan_row(row, picked: str | None) -> dict:
    """One garment's card line: where it goes and its price, or why it cannot go."""
    garment, chosen, charge = row["garment"], row["provider"], row["charge"]
    if chosen:
        note = f"→ {provider_label(chosen)}"
        note += f" · {charge_text(charge)}" if charge is not None else ""
    elif picked and picked != BY_ROUTE:
        note = f"{short_provider_label(picked)} cannot try it on"
    else:
        note = "No provider on its route takes it"
    return {"garment": garment, "provider": chosen or "", "note": note}


def _int(value, default: int = 1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default

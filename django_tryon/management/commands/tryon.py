"""Try one garment on one photo from a terminal and wait for the result.

Progress goes to stderr; stdout holds only the outcome: a line per stored image, or with
``--json`` one JSON object for scripts. A failure says the shopper's message, the error
code and the provider's own reason, and exits 1; bad input exits 2 with one line.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from django_tryon import files, images, services
from django_tryon.callers import Caller
from django_tryon.conf import get_setting
from django_tryon.messages import shopper_message
from django_tryon.models import Category, Garment, TryOnRequest, tryon_storage
from django_tryon.providers import provider_names
from django_tryon.providers.base import ProviderError
from django_tryon.status import Status
from django_tryon.untrusted import plain

from ...errors import QuotaExceeded, TryOnValidationError

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Try a garment image on a person photo and wait until the result is in storage."

    def add_arguments(self, parser):
        parser.add_argument("--person", help="Path of the person photo.")
        parser.add_argument("--garment", help="Path of the garment image.")
        parser.add_argument("--lower", help="Path of a lower-body garment, for an outfit.")
        parser.add_argument(
            "--category",
            choices=[c.value for c in Category],
            default="upper",
            help="Category of --garment (default: upper).",
        )
        parser.add_argument(
            "--provider",
            help="Provider name (default: TRYON DEFAULT_PROVIDER, else the first configured).",
        )
        parser.add_argument("--batch-size", type=int, default=1, help="Images to generate.")
        parser.add_argument(
            "--inline",
            action="store_true",
            help="Run every step in this process (no Celery worker needed).",
        )
        parser.add_argument(
            "--timeout", type=float, default=300.0, help="Seconds to wait (default: 300)."
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print one JSON line (id, status, provider, cost, results, error) to stdout.",
        )
        parser.add_argument(
            "--recover",
            metavar="REQUEST_ID",
            help="Fetch the results of a try-on that failed on our side after the provider "
            "finished (download refused, storage down) again, without a new charge.",
        )

    def handle(self, *args, **opts):
        self._json = opts["json"]
        if opts["recover"]:
            return self._recover(opts["recover"])
        missing = [f"--{name}" for name in ("person", "garment") if not opts[name]]
        if missing:
            raise CommandError(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} needed "
                "(or --recover REQUEST_ID)",
                returncode=BAD_INPUT,
            )
        # Without --provider the shop's route decides, as for any other entry point.
        provider = opts["provider"] or None
        if provider is not None and provider not in provider_names():
            raise CommandError(
                f"unknown provider '{provider}' (choose from {', '.join(provider_names())})",
                returncode=BAD_INPUT,
            )
        # Check what needs no database first, so bad input leaves nothing behind.
        try:
            services.check_outfit(opts["category"], "lower" if opts["lower"] else None)
        except images.ImageError as exc:
            raise CommandError(f"--lower: {exc.message}", returncode=BAD_INPUT) from exc
        person = self._read_image(opts["person"], "--person")
        garment = self._garment(opts["garment"], opts["category"], "--garment")
        lower = self._garment(opts["lower"], "lower", "--lower") if opts["lower"] else None
        try:
            request, created = services.create_tryon(
                garment=garment,
                lower_garment=lower,
                person_image=person,
                provider=provider,
                batch_size=opts["batch_size"],
                caller=Caller.for_terminal(),
                enqueue=not opts["inline"],
                require_active=False,
            )
        except TryOnValidationError as exc:
            raise CommandError(_one_line(exc.errors), returncode=BAD_INPUT) from exc
        except QuotaExceeded as exc:
            # The shop's budget or kill switch (terminal runs skip the per-shopper quota).
            raise CommandError(f"{exc.message} ({exc.scope})", returncode=1) from exc
        verb = "created" if created else "reusing identical"
        routed = f" ({plain(request.routing_note)})" if request.routing_note else ""
        self.stderr.write(f"{verb} try-on {request.pk} with {request.provider}{routed}")
        if opts["inline"]:
            request = self._run_inline(request, opts["timeout"])
        else:
            request = self._wait(request, opts["timeout"])
        return self._report(request)

    def _recover(self, request_id: str):
        try:
            request = TryOnRequest.objects.get(pk=request_id)
        except (TryOnRequest.DoesNotExist, ValueError, ValidationError):
            raise CommandError(f"--recover: no try-on {request_id}", returncode=BAD_INPUT) from None
        recovery = services.recover_results(request)
        if not recovery.recovered:
            raise CommandError(f"try-on {request.pk}: {plain(recovery.message)}", returncode=1)
        self.stderr.write(f"try-on {request.pk}: {plain(recovery.message)}")
        request.refresh_from_db()
        return self._report(request)

    # -- inputs ---------------------------------------------------------------------------

    def _read_image(self, path: str, flag: str) -> bytes:
        try:
            # Read one byte past the limit, never a whole (possibly huge) file.
            with open(path, "rb") as fh:
                data = fh.read(get_setting("UPLOAD_MAX_BYTES") + 1)
        except OSError as exc:
            raise CommandError(
                f"{flag}: cannot read {path}: {exc.strerror}", returncode=BAD_INPUT
            ) from None
        try:
            images.check_sendable(images.verify_image(data))
        except images.ImageError as exc:
            raise CommandError(f"{flag}: {exc.message}", returncode=BAD_INPUT) from exc
        return data

    def _garment(self, path: str, category: str, flag: str) -> Garment:
        """A hidden garment for a terminal image, reused when the same image comes again."""
        # Stored re-encoded, like an admin upload: the file's metadata is not kept.
        image = files.catalogue_image(self._read_image(path, flag))
        garment = Garment.objects.filter(image_digest=image.digest, category=category).first()
        if garment is None:
            garment = Garment(
                name=f"Terminal: {Path(path).name}"[:200],
                category=category,
                active=False,  # not offered to shoppers
                from_terminal=True,  # nor listed with the shop's garments in the admin
            )
            files.attach_image(garment, image)
            garment.save()
        return garment

    # -- waiting --------------------------------------------------------------------------

    def _run_inline(self, request: TryOnRequest, timeout: float) -> TryOnRequest:
        deadline = time.monotonic() + timeout
        interval = float(get_setting("POLL_INTERVAL_SECONDS"))
        attempt = 0
        while time.monotonic() < deadline:
            request.refresh_from_db()
            self._progress(request)
            if request.is_terminal:
                return request
            try:
                if request.status == Status.PENDING:
                    services.submit(request.pk)
                else:
                    services.refresh(request.pk)
                attempt = 0
            except ProviderError as exc:
                if not exc.retryable:
                    raise
                attempt += 1
                self.stderr.write(f"  provider busy ({plain(exc.user_message)}); trying again")
                time.sleep(min(interval * 2**attempt, 10))
                continue
            request.refresh_from_db()
            if not request.is_terminal:
                time.sleep(interval)
        request.refresh_from_db()
        return request

    def _wait(self, request: TryOnRequest, timeout: float) -> TryOnRequest:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            request.refresh_from_db()
            self._progress(request)
            if request.is_terminal:
                return request
            time.sleep(0.5)
        return request

    _last_status = None
    _started = None

    def _progress(self, request: TryOnRequest) -> None:
        self._started = self._started or time.monotonic()
        if request.status != self._last_status:
            self._last_status = request.status
            elapsed = time.monotonic() - self._started
            self.stderr.write(f"  {elapsed:5.1f}s  {request.get_status_display()}")

    def _report(self, request: TryOnRequest):
        results = list(request.results.order_by("index")) if request.is_terminal else []
        if self._json:
            self.stdout.write(json.dumps(_summary(request, results), separators=(",", ":")))
        if request.status == Status.SUCCEEDED:
            if not self._json:
                for result in results:
                    where = _where(result.image.name)
                    self.stdout.write(
                        f"result {result.index}: {result.image.name} "
                        f"({result.width}x{result.height})\n  {where[0]}: {where[1]}"
                    )
                self.stdout.write(self.style.SUCCESS("done"))
            return None
        if request.is_terminal:
            raise CommandError(
                f"try-on {request.pk} {request.status}: {_reason(request)}", returncode=1
            )
        raise CommandError(
            f"timed out: try-on {request.pk} is still {request.status}; "
            "the worker will finish it if it can",
            returncode=1,
        )


def _where(name: str) -> tuple[str, str]:
    """("file", absolute path) for local storage, else ("url", a link to the image)."""
    storage = tryon_storage()
    try:
        return "file", storage.path(name)
    except NotImplementedError:
        return "url", storage.url(name)


def _reason(request: TryOnRequest) -> str:
    """The shopper's message, the stable code, then the provider's own words (one line)."""
    text = f"{shopper_message(request.error_code)} [{request.error_code or 'no code recorded'}]"
    # Cleaned on arrival since; rows stored before are cleaned here, so no escape
    # sequence reaches the operator's terminal.
    detail = plain(request.error_detail or "")
    if detail:
        text += f" Provider's reason: {detail}"
    return text


def _result_entry(result) -> dict:
    kind, location = _where(result.image.name)  # "file" or "url"
    return {
        "index": result.index,
        "name": result.image.name,
        "width": result.width,
        "height": result.height,
        kind: location,
    }


def _summary(request: TryOnRequest, results) -> dict:
    return {
        "id": str(request.pk),
        "status": request.status,
        "provider": request.provider,
        "provider_task_id": request.provider_task_id or None,
        "cost": None if request.cost is None else str(request.cost),
        "cost_currency": request.cost_currency or None,
        # In the shop's money (TRYON["CURRENCY"]) at the price of the day; None if unpriced.
        "shop_cost": None
        if request.cost is None or request.unit_price is None
        else str((request.cost * request.unit_price).quantize(Decimal("0.0001"))),
        "shop_currency": request.shop_currency or None,
        "results": [_result_entry(result) for result in results],
        "error": None
        if not request.error_code
        else {
            "code": request.error_code,
            "message": shopper_message(request.error_code),
            "reason": request.error_detail,
        },
    }


def _one_line(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())

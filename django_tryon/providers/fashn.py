"""FASHN's try-on API (PROVIDERS.md section 4): ``POST /v1/run``, ``GET /v1/status/{id}``.

FASHN takes one garment per run, up to four samples, and images inline as base64 *with*
their ``data:`` prefix (Kling forbids it) or as public URLs. A run answers only an id;
the status call is the truth. Webhooks are not signed, so they are only a hint (the
callback URL's own token is what lets one in). FASHN cannot be searched by our id, so a
run whose answer was lost is never repeated blindly (as PiAPI's). Results are deleted
after 72 hours: the app downloads them as soon as they are ready.

Never use FASHN's own SDK for ``/run``: it retries timeouts, 429 and 5xx by default and
sends no idempotency key, so one try-on could be paid twice. This adapter makes exactly
one HTTP call per create.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from .base import (
    CallbackHint,
    InputImage,
    InvalidInput,
    Provider,
    ProviderError,
    ProviderTask,
    ProviderUnavailable,
    TaskState,
    TryOnInput,
    json_object,
)

MODELS = ("tryon-v1.6", "tryon-max")
#: Credits one output image costs, per model (FASHN's pricing page).
CREDITS_PER_IMAGE = {"tryon-v1.6": Decimal(1), "tryon-max": Decimal(4)}
MODES = ("balanced", "performance", "quality")
GARMENT_PHOTO_TYPES = ("auto", "flat-lay", "model")
MODERATION_LEVELS = ("conservative", "permissive", "none")
IMAGE_TRANSPORTS = ("base64", "url")
CATEGORIES = {"upper": "tops", "lower": "bottoms", "dress": "one-pieces"}
#: FASHN's model for shoes, bags, hats and jewellery: it takes a product image and no
#: category ("clothing, shoes, hats, jewelry, bags, and other wearable fashion items").
PRODUCT_MODEL = "tryon-max"
ACCESSORY_CATEGORIES = frozenset({"shoes", "bag", "hat", "jewellery"})
MAX_SEED = 2**32 - 1

STATES: dict[str, TaskState] = {
    "starting": TaskState.QUEUED,
    "in_queue": TaskState.QUEUED,
    "processing": TaskState.RUNNING,
    "completed": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
    # Known to FASHN's SDK, not to the status page.
    "canceled": TaskState.FAILED,
    "time_out": TaskState.FAILED,
}

#: A failed prediction's ``error.name`` -> the request's error code (the shopper's message).
RUNTIME_ERRORS = {
    "ContentModerationError": "content_refused",
    "ImageLoadError": "invalid_input",
    "PoseError": "provider_failed",
    "PipelineError": "provider_failed",
}
#: HTTP 429's ``error`` names: out of credits is the account, not a pause.
ACCOUNT_ERRORS = frozenset({"OutOfCredits"})


class FashnProvider(Provider):
    """FASHN ``tryon-v1.6`` (or ``tryon-max``) predictions, billed in FASHN credits."""

    name = "fashn"
    label = "FASHN"
    options = frozenset(
        {
            "API_KEY",
            "MODEL",
            "MODE",
            "GARMENT_PHOTO_TYPE",
            "MODERATION_LEVEL",
            "SEED",
            "IMAGE_TRANSPORT",
            "ACCESSORIES",
        }
    )
    required_options = frozenset({"API_KEY"})
    max_batch_size = 4
    # One garment per run: an outfit is refused before anything is paid (docs/providers).
    composes_outfits = False
    takes_lower_garment = False
    supports_cancel = False
    needs_input_urls = False
    supports_find = False
    # Outputs are on FASHN's CDN (unconfirmed host; RESULT_HOSTS overrides it).
    default_result_hosts: ClassVar[tuple[str, ...]] = ("cdn.fashn.ai",)
    default_base_url = "https://api.fashn.ai"
    status_map = STATES
    # FASHN deletes outputs after 72 hours.
    task_retention_seconds = 72 * 3600

    def configure(self) -> None:
        self.api_key = str(self.config["API_KEY"])
        self.model = self.choice("MODEL", MODELS, MODELS[0])
        self.mode = self.choice("MODE", MODES, "balanced")
        self.garment_photo_type = self.choice("GARMENT_PHOTO_TYPE", GARMENT_PHOTO_TYPES, "auto")
        self.moderation_level = self.choice("MODERATION_LEVEL", MODERATION_LEVELS, "conservative")
        self.image_transport = self.choice("IMAGE_TRANSPORT", IMAGE_TRANSPORTS, "base64")
        # Only URL transport needs the app to serve signed input URLs: shadow the class flag.
        self.needs_input_urls = self.image_transport == "url"  # type: ignore[misc]
        seed = self.config.get("SEED")
        if seed is not None and (type(seed) is not int or not 0 <= seed <= MAX_SEED):
            raise self.setting_error(
                "SEED", f"must be an integer from 0 to {MAX_SEED}, not {seed!r}"
            )
        self.seed = seed
        accessories = self.config.get("ACCESSORIES", True)
        if not isinstance(accessories, bool):
            raise self.setting_error("ACCESSORIES", "must be True or False")
        # Shoes, bags, hats and jewellery go to tryon-max (4 credits an image), whatever
        # MODEL says for clothing; False keeps this shop's FASHN to clothing.
        self.garment_categories = (  # type: ignore[misc]
            type(self).garment_categories | ACCESSORY_CATEGORIES
            if accessories
            else type(self).garment_categories
        )

    @property
    def model_name(self) -> str:
        # The mode changes the picture as much as the model does: both are in the dedupe key.
        return f"{self.model}:{self.mode}"

    # -- the interface ---------------------------------------------------------------

    def submit(self, job: TryOnInput) -> ProviderTask:
        """Start one prediction: exactly one POST, never repeated here."""
        model = self._model_for(job.garment_category)
        inputs = self._product_inputs(job) if model == PRODUCT_MODEL else self._inputs(job)
        payload = {"model_name": model, "inputs": inputs}
        params = {"webhook_url": job.callback_url} if job.callback_url else None
        body = self._call("POST", "/v1/run", json=payload, params=params)
        task_id = body.get("id")
        if not isinstance(task_id, str) or not task_id:
            # Accepted without an id: FASHN cannot be searched, so the run is unknown.
            raise ProviderUnavailable(
                "FASHN accepted the run but returned no id", provider=self.name
            )
        return ProviderTask(
            provider=self.name, task_id=task_id, state=TaskState.QUEUED, raw_status="", raw=body
        )

    def fetch(self, task_id: str) -> ProviderTask:
        """The prediction's status: the truth about it."""
        return self._task(self._call("GET", f"/v1/status/{quote(task_id, safe='')}", fetching=True))

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackHint:
        """FASHN POSTs the full status payload; its id is all the app takes from it."""
        payload = json.loads(body)
        task_id = payload.get("id") if isinstance(payload, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise ValueError("FASHN webhook body has no prediction id")
        return CallbackHint(task_id=task_id, raw_status=str(payload.get("status") or ""))

    def estimate_cost(self, batch_size: int) -> tuple[Decimal, str]:
        """FASHN's credits: one an image with tryon-v1.6, four with tryon-max."""
        return CREDITS_PER_IMAGE[self.model] * batch_size, "credits"

    def estimate_cost_of(self, batch_size: int, category: str) -> tuple[Decimal, str]:
        return CREDITS_PER_IMAGE[self._model_for(category)] * batch_size, "credits"

    @property
    def _one_model(self) -> bool:
        return self.model == PRODUCT_MODEL or not (self.garment_categories & ACCESSORY_CATEGORIES)

    def _model_for(self, category: str) -> str:
        return PRODUCT_MODEL if category in ACCESSORY_CATEGORIES else self.model

    # -- HTTP ------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, fetching: bool = False, **kwargs: Any
    ) -> dict[str, Any]:
        """One call; the JSON body on success, else the mapped ProviderError."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        response = self.send(method, path, headers=headers, **kwargs)
        body = json_object(response)
        if response.is_success and body is not None and not _error_name(body):
            return body
        raise self._error(response, body, fetching=fetching)

    def _error(
        self, response: httpx.Response, body: dict | None, *, fetching: bool
    ) -> ProviderError:
        """FASHN's request errors: HTTP status and ``{"error": "<Name>", "message": ...}``."""
        status = response.status_code
        name = _error_name(body)
        return self.refusal(
            response,
            body,
            code=name,
            message=_text(body, "message") or name or f"HTTP {status} from FASHN",
            fetching=fetching,
            content_refused=name == "ContentModerationError",
            # Out of credits comes under a 429, but it is the account, not a pause.
            account=status == 429 and name in ACCOUNT_ERRORS,
        )

    # -- translation -----------------------------------------------------------------

    def _inputs(self, job: TryOnInput) -> dict[str, Any]:
        """The run's inputs, refusing before the call what FASHN would refuse."""
        if job.lower_garment is not None:
            raise self._invalid("FASHN takes one garment per run: outfits are not supported")
        if not 1 <= job.batch_size <= self.max_batch_size:
            raise self._invalid(f"batch_size must be 1 to {self.max_batch_size}")
        category = CATEGORIES.get(job.garment_category)
        if category is None:
            raise self._invalid(f"unknown garment category {job.garment_category!r}")
        inputs: dict[str, Any] = {
            "model_image": self._image(job.person, "person"),
            "garment_image": self._image(job.garment, "garment"),
            "category": category,
            "mode": self.mode,
            "garment_photo_type": self.garment_photo_type,
            "moderation_level": self.moderation_level,
            "num_samples": job.batch_size,
            "output_format": "png",
        }
        if self.seed is not None:
            inputs["seed"] = self.seed
        return inputs

    def _product_inputs(self, job: TryOnInput) -> dict[str, Any]:
        """tryon-max's inputs: the person and the product, nothing else documented (its
        sample count is not confirmed, so one image a run)."""
        if job.lower_garment is not None:
            raise self._invalid("FASHN takes one product per run: outfits are not supported")
        if job.batch_size != 1:
            raise self._invalid(f"FASHN's {PRODUCT_MODEL} makes one image a run")
        return {
            "model_image": self._image(job.person, "person"),
            "product_image": self._image(job.garment, "product"),
        }

    def _image(self, image: InputImage, role: str) -> str:
        """The one place FASHN's image rule lives: a URL, or base64 *with* its data: prefix."""
        if self.image_transport == "url":
            if not image.url:
                raise self._invalid(f"IMAGE_TRANSPORT is 'url' but the {role} image has no URL")
            return image.url
        encoded = base64.b64encode(image.data).decode("ascii")
        return f"data:{image.content_type};base64,{encoded}"

    def _task(self, data: dict[str, Any]) -> ProviderTask:
        """Normalise ``{id, status, output, error}``."""
        raw_status = str(data.get("status") or "")
        output = data.get("output")
        urls = (
            [u.strip() for u in output if isinstance(u, str) and u.strip()]
            if isinstance(output, list)
            else []
        )
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        name = _text(error, "name")
        failure = ": ".join(p for p in (name, _text(error, "message")) if p)
        if not failure and raw_status.lower() in ("canceled", "time_out"):
            failure = f"FASHN reported the prediction as {raw_status}"
        made = self.normalise_status(raw_status) is TaskState.SUCCEEDED and urls
        return self.build_task(
            task_id=str(data.get("id") or ""),
            raw_status=raw_status,
            image_urls=urls,
            failure=failure,
            error_code=RUNTIME_ERRORS.get(name, "provider_failed"),
            # With accessories at tryon-max beside clothing at another model, a status
            # answer does not say which ran it: the estimate made for its category stands.
            cost=CREDITS_PER_IMAGE[self.model] * len(urls) if made and self._one_model else None,
            cost_currency="credits" if made else "",
            raw=data,
        )

    def _invalid(self, message: str) -> InvalidInput:
        return InvalidInput(message, provider=self.name)


def _error_name(body: dict[str, Any] | None) -> str:
    """A request error's name: ``{"error": "OutOfCredits"}`` (a string; null when none)."""
    value = body.get("error") if body else None
    return value.strip() if isinstance(value, str) else ""


def _text(body: Any, key: str) -> str:
    value = body.get(key) if isinstance(body, dict) else None
    return value.strip() if isinstance(value, str) else ""

"""Google's Virtual Try-On on Vertex AI (PROVIDERS-next.md section a).

One synchronous call, ``POST .../publishers/google/models/{model}:predict``, answers with
the images themselves (base64): there is no task id, no task to fetch later and no
webhook. So the worker's submit step is the whole try-on: the images in the answer are
stored as they are, and a call whose answer was lost (a timeout, a 5xx) may have made
paid images nobody can fetch again: it is failed as unknown, never sent a second time.

Authentication is an OAuth2 bearer token: ``ACCESS_TOKEN`` as given (the sandbox, or a
token a shop refreshes itself), else a service-account key file (``CREDENTIALS_FILE``) or
Application Default Credentials through ``google-auth`` (``pip install
django-tryon[vertex]``), refreshed a few minutes before it expires.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from .base import (
    InputImage,
    InvalidInput,
    Provider,
    ProviderAuthError,
    ProviderConfigurationError,
    ProviderError,
    ProviderTask,
    ProviderUnavailable,
    TaskNotFound,
    TaskState,
    TryOnInput,
    json_object,
)

MODELS = ("virtual-try-on-001", "virtual-try-on-preview-08-04")
SAFETY_SETTINGS = (
    "block_medium_and_above",
    "block_low_and_above",
    "block_only_high",
    "block_none",
)
PERSON_GENERATION = ("allow_adult", "allow_all", "dont_allow")
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
#: Documented: at most 10 MB an image, PNG or JPEG, 1 to 4 samples.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png")
#: The worker's submit step has 120 s (soft) for preparing, this call and storing the
#: images: the call may take at most this much of it.
MAX_TIMEOUT_SECONDS = 90
#: A token is refreshed this long before it expires.
TOKEN_MARGIN_SECONDS = 300
#: The label that names the try-on a call was for (Vertex's billing labels: lower-case
#: letters, digits, "-" and "_", at most 63 characters; a UUID fits).
REQUEST_LABEL = "django-tryon-request"
#: What ``_answer`` calls the outcome of a call, as the status word of a task.
STATES = {
    "succeeded": TaskState.SUCCEEDED,
    "filtered": TaskState.FAILED,
    "empty": TaskState.FAILED,
}


class VertexProvider(Provider):
    """Vertex AI ``virtual-try-on-001`` predictions, answered with their images."""

    name = "vertex"
    label = "Google Vertex AI"
    options = frozenset(
        {
            "PROJECT",
            "LOCATION",
            "MODEL",
            "ACCESS_TOKEN",
            "CREDENTIALS_FILE",
            "SAFETY_SETTING",
            "PERSON_GENERATION",
            "ADD_WATERMARK",
            "BASE_STEPS",
            "SEED",
        }
    )
    required_options = frozenset({"PROJECT"})
    max_batch_size = 4
    # One product image per call (the SDK: "only one product image is supported"): an
    # outfit is refused before anything is paid.
    composes_outfits = False
    takes_lower_garment = False
    supports_cancel = False
    supports_find = False
    sends_callbacks = False
    # The images come in the answer: nothing is downloaded from anywhere.
    default_result_hosts: ClassVar[tuple[str, ...]] = ()
    # Nothing is kept: the answer is the only copy. A try-on whose answer was not stored
    # is ended by its next poll (task_not_found), once no worker is storing it.
    task_retention_seconds = None
    status_map = STATES

    def configure(self) -> None:
        self.project = str(self.config["PROJECT"])
        self.location = str(self.config.get("LOCATION") or "us-central1")
        if not self.config.get("BASE_URL"):
            self.base_url = f"https://{self.location}-aiplatform.googleapis.com"
        self.model = self.choice("MODEL", MODELS, MODELS[0])
        self.safety = self.choice("SAFETY_SETTING", SAFETY_SETTINGS, SAFETY_SETTINGS[0])
        self.person_generation = self.choice("PERSON_GENERATION", PERSON_GENERATION, "allow_adult")
        self.watermark = self.config.get("ADD_WATERMARK", True)
        if not isinstance(self.watermark, bool):
            raise self.setting_error("ADD_WATERMARK", "must be True or False")
        self.seed = self.config.get("SEED")
        if self.seed is not None and (type(self.seed) is not int or self.seed < 0):
            raise self.setting_error("SEED", f"must be a whole number >= 0, not {self.seed!r}")
        if self.seed is not None and self.watermark:
            raise self.setting_error("SEED", "needs ADD_WATERMARK = False (Vertex's rule)")
        steps = self.config.get("BASE_STEPS")
        if steps is not None and (type(steps) is not int or steps < 1):
            raise self.setting_error("BASE_STEPS", f"must be a whole number >= 1, not {steps!r}")
        self.base_steps = steps
        timeout = self.client.timeout.read or 30
        if timeout > MAX_TIMEOUT_SECONDS:
            raise self.setting_error(
                "TIMEOUT_SECONDS",
                f"is {timeout:g}; a call answered with its images must end within "
                f"{MAX_TIMEOUT_SECONDS} s, inside the worker's time limit for the submit step",
            )
        self._token = _Token(self)

    @property
    def model_name(self) -> str:
        # The watermark and the safety level change what comes back: both dedupe.
        mark = "watermark" if self.watermark else "clean"
        return f"{self.model}:{mark}:{self.safety}"

    # -- the interface ---------------------------------------------------------------

    def submit(self, job: TryOnInput) -> ProviderTask:
        """The whole try-on: one predict call, answered with the images. Never repeated
        here; a lost answer is ProviderUnavailable (the pipeline never sends it again)."""
        parameters: dict[str, Any] = {
            "sampleCount": self._samples(job),
            "addWatermark": self.watermark,
            "safetySetting": self.safety,
            "personGeneration": self.person_generation,
            "outputOptions": {"mimeType": "image/png"},
        }
        if self.seed is not None:
            parameters["seed"] = self.seed
        if self.base_steps is not None:
            parameters["baseSteps"] = self.base_steps
        instance = {
            "personImage": {"image": self._image(job.person, "person")},
            "productImages": [{"image": self._image(job.garment, "garment")}],
        }
        path = (
            f"/v1/projects/{self.project}/locations/{self.location}"
            f"/publishers/google/models/{self.model}:predict"
        )
        payload = {
            "instances": [instance],
            "parameters": parameters,
            # Which try-on a charge was for, in the shop's Google Cloud billing reports.
            "labels": {REQUEST_LABEL: str(job.request_id).lower()},
        }
        body = self._call(path, payload)
        return self._answer(job, body)

    def fetch(self, task_id: str) -> ProviderTask:
        """Nothing can be fetched again: the images were only in the call's answer."""
        raise TaskNotFound(
            "Vertex AI answers with its images and keeps no task to fetch again",
            provider=self.name,
        )

    def estimate_cost(self, batch_size: int) -> tuple[Decimal, str]:
        """Billed per image made (UNIT_PRICE prices it in the shop's money)."""
        return Decimal(batch_size), "images"

    # -- HTTP ------------------------------------------------------------------------

    def _call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token.get()}"}
        response = self.send("POST", path, headers=headers, json=payload)
        body = json_object(response)
        if response.status_code == 401 and self._token.refreshable:
            # A token revoked or expired early: one more call with a new one.
            headers = {"Authorization": f"Bearer {self._token.get(fresh=True)}"}
            response = self.send("POST", path, headers=headers, json=payload)
            body = json_object(response)
        if response.is_success and body is not None and "error" not in body:
            return body
        raise self._error(response, body)

    def _error(self, response: httpx.Response, body: dict | None) -> ProviderError:
        """google.rpc's ``{"error": {"code", "message", "status"}}``."""
        detail = body.get("error") if isinstance(body, dict) else None
        detail = detail if isinstance(detail, dict) else {}
        code = str(detail.get("status") or "")
        message = str(detail.get("message") or code or f"HTTP {response.status_code} from Vertex")
        # 429 RESOURCE_EXHAUSTED is the per-minute quota: nothing was made, wait and send.
        return self.refusal(response, body, code=code, message=message, fetching=False)

    # -- translation -----------------------------------------------------------------

    def _samples(self, job: TryOnInput) -> int:
        if job.lower_garment is not None:
            raise self._invalid("Vertex AI takes one product image per call: not an outfit")
        if not 1 <= job.batch_size <= self.max_batch_size:
            raise self._invalid(f"Vertex AI makes 1 to {self.max_batch_size} images a call")
        if job.garment_category not in self.garment_categories:
            raise self._invalid(f"Vertex AI does not take {job.garment_category!r} garments")
        return job.batch_size

    def _image(self, image: InputImage, role: str) -> dict[str, str]:
        if image.content_type not in IMAGE_TYPES:
            raise self._invalid(f"the {role} image must be JPEG or PNG for Vertex AI")
        if len(image.data) > MAX_IMAGE_BYTES:
            raise self._invalid(f"the {role} image is over Vertex AI's 10 MB")
        encoded = base64.b64encode(image.data).decode("ascii")
        return {"bytesBase64Encoded": encoded, "mimeType": image.content_type}

    def _answer(self, job: TryOnInput, body: dict[str, Any]) -> ProviderTask:
        """The images in the answer; those the safety filter kept back are counted as
        refused (``raiFilteredReason``), and none at all is a content refusal."""
        predictions = body.get("predictions")
        if not isinstance(predictions, list):
            raise ProviderUnavailable(
                "Vertex AI answered without predictions", provider=self.name, body=body
            )
        made, filtered = [], []
        for prediction in predictions:
            if not isinstance(prediction, dict):
                continue
            if prediction.get("raiFilteredReason"):
                filtered.append(str(prediction["raiFilteredReason"]))
                continue
            try:
                made.append(
                    base64.b64decode(prediction.get("bytesBase64Encoded") or "", validate=True)
                )
            except (binascii.Error, ValueError):
                continue
        made = [image for image in made if image]
        refused = bool(filtered) and not made
        return self.build_task(
            # No task id exists: the try-on's own id names the call.
            task_id=f"predict:{job.request_id}",
            raw_status="filtered" if refused else ("succeeded" if made else "empty"),
            image_urls=[],
            images=made,
            failure="; ".join(filtered) or "Vertex AI answered without an image",
            error_code="content_refused" if refused else "provider_failed",
            cost=Decimal(len(made)) if made else None,
            cost_currency="images" if made else "",
            raw={"filtered": filtered, "images": len(made)},
        )

    def _invalid(self, message: str) -> InvalidInput:
        return InvalidInput(message, provider=self.name)


class _Token:
    """The bearer token: ACCESS_TOKEN as given, else google-auth's credentials (a key file
    or Application Default Credentials, looked up at the first call, not at start-up:
    ADC may ask a metadata server), refreshed before they expire; thread-safe."""

    def __init__(self, provider: VertexProvider) -> None:
        self._provider = provider
        self._lock = threading.Lock()
        self._static = str(provider.config.get("ACCESS_TOKEN") or "")
        self._credentials = None
        self.refreshable = not self._static
        if self.refreshable:
            _google_auth(provider)  # missing: a configuration error at start-up

    def get(self, *, fresh: bool = False) -> str:
        if self._static:
            return self._static
        with self._lock:
            if self._credentials is None:
                self._credentials = _credentials(self._provider)
            credentials = self._credentials
            expiry = getattr(credentials, "expiry", None)
            stale = expiry is None or _seconds_left(expiry) < TOKEN_MARGIN_SECONDS
            if fresh or not credentials.token or stale:
                try:
                    credentials.refresh(_Transport(self._provider.client))
                except Exception as exc:  # google-auth raises its own RefreshError
                    # Nothing was sent: a refusal the shop must fix, never "maybe paid".
                    raise ProviderAuthError(
                        f"Vertex AI credentials could not be refreshed ({type(exc).__name__})",
                        provider=self._provider.name,
                    ) from None
            return credentials.token


def _seconds_left(expiry) -> float:
    """google-auth keeps ``expiry`` as a naive UTC datetime."""
    from datetime import UTC

    return expiry.replace(tzinfo=UTC).timestamp() - time.time()


def _google_auth(provider: VertexProvider):
    try:
        import google.auth  # noqa: F401
        from google.oauth2 import service_account
    except ImportError:
        raise ProviderConfigurationError(
            f"TRYON['PROVIDERS']['{provider.name}'] needs ACCESS_TOKEN, or google-auth for "
            "CREDENTIALS_FILE / Application Default Credentials: "
            "pip install django-tryon[vertex]"
        ) from None
    return service_account


def _credentials(provider: VertexProvider):
    """google-auth credentials for the cloud-platform scope: the key file, else ADC."""
    import google.auth
    import google.auth.exceptions

    service_account = _google_auth(provider)
    path = provider.config.get("CREDENTIALS_FILE")
    try:
        if path:
            return service_account.Credentials.from_service_account_file(str(path), scopes=[SCOPE])
        credentials, _ = google.auth.default(scopes=[SCOPE])
        return credentials
    except (OSError, ValueError, google.auth.exceptions.DefaultCredentialsError) as exc:
        raise ProviderAuthError(
            f"Vertex AI has no usable credentials ({type(exc).__name__}): set CREDENTIALS_FILE "
            "or Application Default Credentials",
            provider=provider.name,
        ) from None


class _Transport:
    """google-auth's transport interface over the adapter's own httpx client (so token
    refreshes keep its timeouts and never follow redirects)."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        from google.auth import exceptions, transport

        try:
            answer = self._client.request(method, url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise exceptions.TransportError(str(exc)) from exc

        class _Response(transport.Response):
            status = answer.status_code
            headers = dict(answer.headers)
            data = answer.content

        return _Response()

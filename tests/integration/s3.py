"""A local S3 for the storage tests: moto in server mode on 127.0.0.1, nothing else.

Nothing here may reach AWS: the endpoint is always the loopback moto server, the
credentials are dummies, instance metadata is disabled, the machine's AWS config files
and profiles are hidden, and loopback bypasses any proxy. ``SAFE_AWS_ENV`` is applied
to the test process and inherited by the worker subprocess.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

#: Environment for boto3 in the test process and the worker: dummy keys, no AWS lookups.
SAFE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
#: Variables that could send boto3 elsewhere or to other credentials: removed.
UNSAFE_AWS_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
)


def apply_safe_aws_env(monkeypatch) -> None:
    """Make boto3 in this process (and any subprocess started now) local-only."""
    for name in UNSAFE_AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in SAFE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("NO_PROXY", "no_proxy"):
        current = [p for p in os.environ.get(name, "").split(",") if p]
        monkeypatch.setenv(name, ",".join([*current, "127.0.0.1", "localhost"]))


@dataclass
class LocalS3:
    """A moto S3 server on a free loopback port, with a boto3 client for assertions."""

    server: object = None
    endpoint: str = ""
    client: object = None
    buckets: list[str] = field(default_factory=list)

    def start(self) -> LocalS3:
        import boto3
        from botocore.config import Config
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        assert host == "127.0.0.1", host
        self.endpoint = f"http://127.0.0.1:{port}"
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def create_bucket(self, name: str) -> str:
        self.client.create_bucket(Bucket=name)
        self.buckets.append(name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in the bucket under ``prefix``, sorted (list_objects_v2)."""
        found: list[str] = []
        kwargs = {"Bucket": bucket, "Prefix": prefix}
        while True:
            page = self.client.list_objects_v2(**kwargs)
            found += [item["Key"] for item in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return sorted(found)
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def read(self, bucket: str, key: str) -> bytes:
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()


def storage_env(endpoint: str, bucket: str, *, use_for_tryon: bool = True) -> dict[str, str]:
    """The variables tests/settings.py reads to add (and select) the "tryon_s3" alias."""
    env = {"TRYON_TEST_S3_ENDPOINT": endpoint, "TRYON_TEST_S3_BUCKET": bucket}
    if use_for_tryon:
        env["TRYON_TEST_STORAGE"] = "tryon_s3"
    return env


def reset_tryon_storage() -> None:
    """Forget the storage django_tryon looked up, so the next use reads TRYON['STORAGE'].

    django_tryon.models caches it in a LazyObject and does not listen to setting_changed.
    """
    from django.utils.functional import empty

    from django_tryon.models import _storage

    _storage._wrapped = empty

"""Artifact upload to S3-compatible storage (AWS S3, Cloudflare R2, MinIO, moto).

``--artifacts s3://bucket/prefix``: files stay in the local run folder (tests never wait
on the network) and the shipper uploads each one to ``s3://bucket/prefix/RUN/REL``,
where ``REL`` is its path inside the local run folder. The endpoint comes from
``VIRTUALPY_S3_ENDPOINT`` or the usual AWS variables (``AWS_ENDPOINT_URL_S3``,
``AWS_ENDPOINT_URL``); credentials and region from the usual AWS chain.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ArtifactStoreError(Exception):
    """An artifact could not be uploaded (bad URL, unreachable endpoint, no credentials)."""


class ArtifactMissing(ArtifactStoreError):
    """The local artifact file no longer exists; retrying cannot help."""


@dataclass(frozen=True)
class S3Target:
    """Where a run's artifacts go: ``s3://bucket/prefix``."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Target:
        if not url.startswith("s3://"):
            raise ArtifactStoreError(f"not an S3 URL: {url!r} (expected s3://bucket/prefix)")
        rest = url[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        if len(bucket) < 3:
            raise ArtifactStoreError(
                f"bad artifacts URL {url!r}: the bucket name needs at least 3 characters"
            )
        return cls(bucket, prefix.strip("/"))

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, run_uid: str, rel: str) -> str:
        parts = [p for p in (self.prefix, run_uid, rel.replace("\\", "/")) if p]
        return "/".join(parts)

    def uri(self, run_uid: str, rel: str) -> str:
        return f"s3://{self.bucket}/{self.key(run_uid, rel)}"


def is_s3(value: str | None) -> bool:
    return bool(value) and str(value).startswith("s3://")


def endpoint_from_env() -> str | None:
    """``VIRTUALPY_S3_ENDPOINT``, else the AWS variables boto3 also understands."""
    return (
        os.environ.get("VIRTUALPY_S3_ENDPOINT")
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )


class S3Store:
    """Uploads artifact files; one client per shipper thread (boto3 clients are thread-safe)."""

    def __init__(self, target: S3Target, endpoint: str | None = None) -> None:
        self.target = target
        self.endpoint = endpoint if endpoint is not None else endpoint_from_env()
        self._client: Any = None

    @property
    def where(self) -> str:
        return f"{self.target}" + (f" (endpoint {self.endpoint})" if self.endpoint else "")

    def _s3(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "auto"
            if self.endpoint is None and region == "auto":
                region = "us-east-1"
            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint,
                region_name=region,
                config=Config(
                    connect_timeout=3,
                    read_timeout=20,
                    retries={"max_attempts": 2, "mode": "standard"},
                ),
            )
        return self._client

    def upload(self, path: Path, run_uid: str, rel: str) -> str:
        """Upload one file (idempotent: same key each time); returns its ``s3://`` URI."""
        try:
            self._s3().upload_file(str(path), self.target.bucket, self.target.key(run_uid, rel))
        except FileNotFoundError:
            raise ArtifactMissing(f"artifact file is gone: {path}") from None
        except Exception as e:  # botocore raises many unrelated types
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ArtifactStoreError(f"cannot upload to S3 {self.where}: {reason}") from None
        return self.target.uri(run_uid, rel)

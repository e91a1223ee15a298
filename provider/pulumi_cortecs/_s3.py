"""The journal's documents in an S3 bucket (or an S3-compatible store: MinIO, Cloudflare R2),
where every CI runner of a team sees them.

Compare-and-swap is S3's conditional write: ``If-None-Match: *`` creates a document only if it
is absent, ``If-Match: <ETag>`` replaces it only if nobody wrote it since it was read. A lost
race is HTTP 412 ``PreconditionFailed`` (or 409 ``ConditionalRequestConflict`` when two
conditional writes meet), and :meth:`S3Store.put` answers ``None``: the writer reads again.
S3 reads and lists are strongly consistent, so a writer sees every document stored before.

The endpoint and the credentials come from the standard AWS environment (``AWS_ENDPOINT_URL``
or ``AWS_ENDPOINT_URL_S3``, ``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``..., instance roles), as for
any AWS tool. boto3 is the optional extra ``pulumi-cortecs-instances[s3]``, imported only when a
journal URL is used. Errors name the ``s3://`` URL and the S3 error code, never a credential.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pulumi_cortecs._exceptions import JournalError
from pulumi_cortecs._store import Stored, check_key
from pulumi_cortecs._urls import has_userinfo, without_userinfo

if TYPE_CHECKING:
    from botocore.client import BaseClient

# A lost compare-and-swap: the document changed (412), two conditional writes met (409), or an
# ``If-Match`` found the document deleted since it was read (404).
_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"}
# Fail within seconds when the endpoint cannot be reached, not after botocore's minute.
_CONNECT_SECONDS = 5
_READ_SECONDS = 30
_ATTEMPTS = 3


def parse_url(url: str) -> tuple[str, str]:
    """``s3://BUCKET/PREFIX`` as its bucket and its prefix (without slashes at either end)."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    if has_userinfo(url):
        # Not repeated: what stands before the ``@`` is a credential.
        raise ValueError(
            "an s3:// URL names a bucket, not credentials: remove what stands before the @ "
            "and set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) instead"
        )
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"{url!r} names no bucket: use s3://BUCKET/PREFIX")
    return bucket, prefix.strip("/")


class S3Store:
    """Documents as objects under ``s3://BUCKET/PREFIX/``, written by conditional PUT."""

    def __init__(self, url: str, environ: Mapping[str, str] = os.environ) -> None:
        self.bucket, self.prefix = parse_url(url)
        self._endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
        self._client_lock = threading.Lock()
        self._client: BaseClient | None = None

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def where(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object(key)}"

    def get(self, key: str) -> Stored | None:
        name = self._object(key)
        try:
            answer = self._s3().get_object(Bucket=self.bucket, Key=name)
            data = answer["Body"].read()
        except Exception as error:
            if _code(error) in ("NoSuchKey", "404"):
                return None
            raise self._error(key, "read", error) from None
        return Stored(data, answer["ETag"])

    def put(self, key: str, data: bytes, *, version: str | None) -> str | None:
        name = self._object(key)
        condition = {"IfMatch": version} if version is not None else {"IfNoneMatch": "*"}
        try:
            answer = self._s3().put_object(Bucket=self.bucket, Key=name, Body=data, **condition)
        except Exception as error:
            if _code(error) in _LOST_RACE:
                return None
            raise self._error(key, "written", error) from None
        return str(answer["ETag"])

    def delete(self, key: str) -> None:
        name = self._object(key)
        try:
            self._s3().delete_object(Bucket=self.bucket, Key=name)
        except Exception as error:
            raise self._error(key, "written", error) from None

    def keys(self, prefix: str = "") -> list[str]:
        base = f"{self.prefix}/" if self.prefix else ""
        found: list[str] = []
        try:
            pages = self._s3().get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=base + prefix):
                found += [item["Key"][len(base) :] for item in page.get("Contents", [])]
        except Exception as error:
            raise self._error(prefix, "read", error) from None
        return sorted(found)

    def _object(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _s3(self) -> BaseClient:
        with self._client_lock:  # boto3 clients are thread-safe; creating them is not
            if self._client is None:
                self._client = _client(self.location, self._endpoint)
            return self._client

    def _error(self, key: str, verb: str, error: Exception) -> JournalError:
        where = self.where(key) if key else self.location
        return JournalError(f"the journal {where} cannot be {verb} ({_why(self, error)})")


def _client(location: str, endpoint: str | None) -> BaseClient:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise JournalError(
            f"the journal {location} needs boto3, which the s3 extra brings: "
            "pip install 'boto3>=1.35.36'"
        ) from None
    config = Config(
        connect_timeout=_CONNECT_SECONDS,
        read_timeout=_READ_SECONDS,
        retries={"mode": "standard", "max_attempts": _ATTEMPTS},
    )
    client: BaseClient = boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)
    return client


def _code(error: Exception) -> str | None:
    """The S3 error code of a ``ClientError`` (``None`` for any other failure)."""
    response: Any = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code else None


def _why(store: S3Store, error: Exception) -> str:
    """What went wrong, in words that hold no credential: the S3 error code and status, or the
    kind of failure to reach the endpoint."""
    code = _code(error)
    if code == "NoSuchBucket":
        return f"there is no bucket {store.bucket}"
    if code is not None:
        status = getattr(error, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        hint = " (check the credentials and the bucket policy)" if status == 403 else ""
        return f"S3 answered {status} {code}{hint}"
    name = type(error).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return "no AWS credentials were found: set AWS_PROFILE or AWS_ACCESS_KEY_ID"
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        endpoint = getattr(error, "kwargs", {}).get("endpoint_url", "?")
        return f"S3 cannot be reached at {without_userinfo(endpoint)}"
    return name

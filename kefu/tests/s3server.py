"""A local server speaking the S3 API (moto's standalone server) for storage and cluster tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

BUCKET = "kefu-test"
ACCESS_KEY = "kefu-test-access"
SECRET_KEY = "kefu-test-secret-0123456789"  # noqa: S105 - the local test server's credentials
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str = BUCKET

    def environ(self, prefix: str = "kefu") -> dict[str, str]:
        """The ``KEFU_*`` variables that point Kefu at this server."""
        return {
            "KEFU_FILE_STORAGE": "s3",
            "KEFU_S3_BUCKET": self.bucket,
            "KEFU_S3_ENDPOINT_URL": self.endpoint_url,
            "KEFU_S3_REGION": REGION,
            "KEFU_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "KEFU_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "KEFU_S3_PREFIX": prefix,
        }

    def client(self):  # boto3's client, untyped
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))


@contextmanager
def running_s3_server() -> Iterator[S3Server]:
    """Start moto's S3 server on a free local port with an empty bucket; stop it afterwards."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    s3 = S3Server(endpoint_url=f"http://{host}:{port}")
    s3.client().create_bucket(Bucket=s3.bucket)
    try:
        yield s3
    finally:
        server.stop()

"""The AWS Encryption SDK for Python (`aws-encryption-sdk` from PyPI, pinned in requirements.txt)
encrypting and decrypting through Rampart's KMS, pointed here with AWS_ENDPOINT_URL_KMS as a user
would: its KMS master key provider asks Rampart for data keys (GenerateDataKey, Encrypt) and to
unwrap them (Decrypt), with the SDK's encryption context bound to each call."""
import time

import aws_encryption_sdk
import botocore.session
import pytest
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError
from cryptography.exceptions import InvalidSignature

from conftest import client, trail_rows

PLAINTEXT = b"orders-2026-11.csv: 4,096 rows of someone's data " * 64


@pytest.fixture
def sdk_env(server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", server.endpoint)
    session = botocore.session.Session()
    session.set_credentials(server.access_key, server.secret_key)
    sdk = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    return sdk, session


def provider(session, *arns):
    return aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=list(arns), botocore_session=session)


def test_sdk_round_trip_with_context(server, sdk_env):
    sdk, session = sdk_env
    kms = client(server, "kms")
    arn = kms.create_key(Description="encryption sdk")["KeyMetadata"]["Arn"]
    ct, header = sdk.encrypt(
        source=PLAINTEXT, key_provider=provider(session, arn), encryption_context={"tenant": "acme"}
    )
    assert PLAINTEXT not in ct
    pt, dheader = sdk.decrypt(source=ct, key_provider=provider(session, arn))
    assert pt == PLAINTEXT
    assert dheader.encryption_context["tenant"] == "acme"
    # The data key was made and unwrapped by Rampart: both calls are in the trail, with the
    # SDK's context (which includes the tenant) and never the data key.
    deadline = time.monotonic() + 10
    while True:
        names = [r["event"]["eventName"] for r in trail_rows(server, "record LIKE ?", (f"%{arn}%",))]
        if "GenerateDataKey" in names and "Decrypt" in names:
            break
        assert time.monotonic() < deadline, names
        time.sleep(0.1)


def test_sdk_two_keys_either_decrypts(server, sdk_env):
    sdk, session = sdk_env
    kms = client(server, "kms")
    a = kms.create_key()["KeyMetadata"]["Arn"]
    b = kms.create_key()["KeyMetadata"]["Arn"]
    ct, _ = sdk.encrypt(source=PLAINTEXT, key_provider=provider(session, a, b))
    # The message carries one encrypted data key per KMS key: B alone can open it.
    pt, _ = sdk.decrypt(source=ct, key_provider=provider(session, b))
    assert pt == PLAINTEXT
    # A disabled key cannot: with only A named, decryption fails.
    kms.disable_key(KeyId=a)
    with pytest.raises(AWSEncryptionSDKClientError):
        sdk.decrypt(source=ct, key_provider=provider(session, a))


def test_sdk_tampered_message_fails(server, sdk_env):
    sdk, session = sdk_env
    arn = client(server, "kms").create_key()["KeyMetadata"]["Arn"]
    ct, _ = sdk.encrypt(source=PLAINTEXT, key_provider=provider(session, arn))
    bad = bytearray(ct)
    bad[-40] ^= 1
    # The message's signature (ECDSA P-384 footer) no longer verifies.
    with pytest.raises((AWSEncryptionSDKClientError, InvalidSignature)):
        sdk.decrypt(source=bytes(bad), key_provider=provider(session, arn))

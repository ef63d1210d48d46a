"""The AWS Encryption SDK for Python (`aws-encryption-sdk` from PyPI, pinned in requirements.txt)
encrypting and decrypting through Rampart's KMS, pointed here with AWS_ENDPOINT_URL_KMS as a user
would: its KMS master key provider and its keyrings (the Material Providers Library: KMS,
multi, MRK-aware strict and discovery keyrings) ask Rampart for data keys (GenerateDataKey,
Encrypt) and to unwrap them (Decrypt), with the SDK's encryption context bound to each call."""
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


# --------------------------------------------------------------------------------------------
# Keyrings (the Material Providers Library, `aws-cryptographic-material-providers`), the SDK's
# current interface: a KMS keyring, a multi-keyring, and the multi-Region-aware keyrings
# against a key replicated to another region.


@pytest.fixture
def mpl(server, monkeypatch):
    from aws_cryptographic_material_providers.mpl import AwsCryptographicMaterialProviders
    from aws_cryptographic_material_providers.mpl.config import MaterialProvidersConfig

    # The keyrings that make their own KMS clients (the MRK keyrings) find Rampart and the
    # credentials in the environment, as an application's would.
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    return AwsCryptographicMaterialProviders(config=MaterialProvidersConfig())


def test_kms_keyring_round_trip(server, mpl):
    from aws_cryptographic_material_providers.mpl.models import CreateAwsKmsKeyringInput

    sdk = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    kms = client(server, "kms")
    arn = kms.create_key(Description="keyring")["KeyMetadata"]["Arn"]
    keyring = mpl.create_aws_kms_keyring(CreateAwsKmsKeyringInput(kms_key_id=arn, kms_client=client(server, "kms")))
    ct, _ = sdk.encrypt(source=PLAINTEXT, keyring=keyring, encryption_context={"tenant": "acme"})
    assert PLAINTEXT not in ct
    pt, header = sdk.decrypt(source=ct, keyring=keyring, encryption_context={"tenant": "acme"})
    assert pt == PLAINTEXT and header.encryption_context["tenant"] == "acme"
    # A keyring for another key cannot open it; nor can this one once the key is disabled.
    other = kms.create_key()["KeyMetadata"]["Arn"]
    wrong = mpl.create_aws_kms_keyring(CreateAwsKmsKeyringInput(kms_key_id=other, kms_client=client(server, "kms")))
    with pytest.raises(AWSEncryptionSDKClientError, match="No Encrypted Data Keys found to match"):
        sdk.decrypt(source=ct, keyring=wrong)
    kms.disable_key(KeyId=arn)
    with pytest.raises(AWSEncryptionSDKClientError, match="No Configured KMS Key was able to decrypt"):
        sdk.decrypt(source=ct, keyring=keyring)


def test_multi_keyring_either_key_decrypts(server, mpl):
    from aws_cryptographic_material_providers.mpl.models import (
        CreateAwsKmsKeyringInput,
        CreateAwsKmsMultiKeyringInput,
    )

    sdk = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    kms = client(server, "kms")
    a = kms.create_key()["KeyMetadata"]["Arn"]
    b = kms.create_key()["KeyMetadata"]["Arn"]
    multi = mpl.create_aws_kms_multi_keyring(CreateAwsKmsMultiKeyringInput(generator=a, kms_key_ids=[b]))
    ct, _ = sdk.encrypt(source=PLAINTEXT, keyring=multi)
    only_b = mpl.create_aws_kms_keyring(CreateAwsKmsKeyringInput(kms_key_id=b, kms_client=client(server, "kms")))
    assert sdk.decrypt(source=ct, keyring=only_b)[0] == PLAINTEXT


def test_mrk_keyrings_decrypt_in_the_replica_region(server, mpl):
    """Encrypted under a multi-Region key in us-east-1, decrypted in us-west-2 by the MRK-aware
    keyrings through the replica (the data key is unwrapped by the replica's region)."""
    from aws_cryptographic_material_providers.mpl.models import (
        CreateAwsKmsMrkDiscoveryMultiKeyringInput,
        CreateAwsKmsMrkMultiKeyringInput,
        DiscoveryFilter,
    )

    sdk = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    kms = client(server, "kms")
    md = kms.create_key(MultiRegion=True, Description="mrk keyring")["KeyMetadata"]
    replica = kms.replicate_key(KeyId=md["KeyId"], ReplicaRegion="us-west-2")["ReplicaKeyMetadata"]["Arn"]
    assert replica.split(":")[3] == "us-west-2" and replica.endswith(md["KeyId"])
    enc = mpl.create_aws_kms_mrk_multi_keyring(CreateAwsKmsMrkMultiKeyringInput(generator=md["Arn"]))
    ct, _ = sdk.encrypt(source=PLAINTEXT, keyring=enc, encryption_context={"purpose": "dr"})
    # Strict: the replica's ARN names the same multi-Region key.
    dec = mpl.create_aws_kms_mrk_multi_keyring(CreateAwsKmsMrkMultiKeyringInput(generator=replica))
    assert sdk.decrypt(source=ct, keyring=dec)[0] == PLAINTEXT
    # Discovery in us-west-2, limited to this account.
    disc = mpl.create_aws_kms_mrk_discovery_multi_keyring(CreateAwsKmsMrkDiscoveryMultiKeyringInput(
        regions=["us-west-2"],
        discovery_filter=DiscoveryFilter(account_ids=[md["AWSAccountId"]], partition="aws")))
    assert sdk.decrypt(source=ct, keyring=disc)[0] == PLAINTEXT
    # The decryption happened in the replica's region: its Decrypt event names the replica.
    deadline = time.monotonic() + 10
    while True:
        rows = [r["event"] for r in trail_rows(server, "record LIKE ?", (f"%{replica}%",))
                if r["event"]["eventName"] == "Decrypt"]
        if rows:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert rows[0]["awsRegion"] == "us-west-2"

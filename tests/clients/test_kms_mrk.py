"""Multi-Region keys through boto3 and the AWS Encryption SDK: CreateKey(MultiRegion=True) gives
an `mrk-` key whose MultiRegionConfiguration names its primary; ReplicateKey copies it into
another Region this server serves; a ciphertext made in one Region decrypts in the other, also
after a rotation; UpdatePrimaryRegion moves the primary; and the SDK's multi-Region-aware
provider decrypts with the replica what was encrypted with the primary."""
import aws_encryption_sdk
import botocore.session
import pytest
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.key_providers.kms import MRKAwareStrictAwsKmsMasterKeyProvider
from botocore.exceptions import ClientError

from conftest import client, error_of


@pytest.fixture(scope="module")
def east(server):
    return client(server, "kms", region_name="us-east-1")


@pytest.fixture(scope="module")
def west(server):
    return client(server, "kms", region_name="us-west-2")


def fails(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return error_of(e.value)


def test_replicate_and_decrypt_across_regions(east, west):
    md = east.create_key(MultiRegion=True, Description="mrk")["KeyMetadata"]
    key_id = md["KeyId"]
    assert key_id.startswith("mrk-") and len(key_id) == 36
    assert md["MultiRegion"] is True
    cfg = md["MultiRegionConfiguration"]
    assert cfg["MultiRegionKeyType"] == "PRIMARY"
    assert cfg["PrimaryKey"] == {"Arn": md["Arn"], "Region": "us-east-1"}
    assert cfg["ReplicaKeys"] == []

    blob = east.encrypt(KeyId=key_id, Plaintext=b"portable", EncryptionContext={"a": "b"})["CiphertextBlob"]
    r = east.replicate_key(KeyId=key_id, ReplicaRegion="us-west-2", Description="replica",
                           Tags=[{"TagKey": "copy", "TagValue": "west"}])
    rmd = r["ReplicaKeyMetadata"]
    assert rmd["KeyId"] == key_id and rmd["Arn"] == md["Arn"].replace("us-east-1", "us-west-2")
    assert rmd["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert r["ReplicaTags"] == [{"TagKey": "copy", "TagValue": "west"}]
    assert "Statement" in r["ReplicaPolicy"]
    assert east.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]["ReplicaKeys"] == [
        {"Arn": rmd["Arn"], "Region": "us-west-2"}]

    # The ciphertext names the key by id: the replica opens it, without being told the key.
    out = west.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})
    assert out["Plaintext"] == b"portable" and out["KeyId"] == rmd["Arn"]

    # Rotating the primary gives the replica the new material.
    east.rotate_key_on_demand(KeyId=key_id)
    newer = east.encrypt(KeyId=key_id, Plaintext=b"after rotation")["CiphertextBlob"]
    assert west.decrypt(CiphertextBlob=newer)["Plaintext"] == b"after rotation"
    status, code, _ = fails(west.enable_key_rotation, KeyId=key_id)
    assert code == "UnsupportedOperationException"

    # Rules: one replica per Region, not into the primary's Region, only multi-Region keys.
    assert fails(east.replicate_key, KeyId=key_id, ReplicaRegion="us-west-2")[1] == "AlreadyExistsException"
    assert fails(east.replicate_key, KeyId=key_id, ReplicaRegion="us-east-1")[1] == "ValidationException"
    single = east.create_key()["KeyMetadata"]
    assert single["MultiRegion"] is False and "MultiRegionConfiguration" not in single
    assert fails(east.replicate_key, KeyId=single["KeyId"], ReplicaRegion="us-west-2")[1] == "UnsupportedOperationException"
    assert fails(east.schedule_key_deletion, KeyId=key_id)[1] == "UnsupportedOperationException"

    # The primary moves to us-west-2.
    east.update_primary_region(KeyId=key_id, PrimaryRegion="us-west-2")
    assert west.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert east.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    # Deleting the (now) replica in us-east-1 is allowed.
    assert east.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)["KeyState"] == "PendingDeletion"


def test_encryption_sdk_mrk_aware_provider(server, east, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", server.endpoint)
    session = botocore.session.Session()
    session.set_credentials(server.access_key, server.secret_key)
    md = east.create_key(MultiRegion=True)["KeyMetadata"]
    replica = east.replicate_key(KeyId=md["KeyId"], ReplicaRegion="us-west-2")["ReplicaKeyMetadata"]["Arn"]
    sdk = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    ct, _ = sdk.encrypt(
        source=b"mrk data",
        key_provider=MRKAwareStrictAwsKmsMasterKeyProvider(key_ids=[md["Arn"]], botocore_session=session),
    )
    # Decrypting with the replica's ARN: the provider calls us-west-2 and Rampart opens it there.
    pt, _ = sdk.decrypt(
        source=ct,
        key_provider=MRKAwareStrictAwsKmsMasterKeyProvider(key_ids=[replica], botocore_session=session),
    )
    assert pt == b"mrk data"

"""KMS through boto3 and the aws CLI: symmetric keys (CreateKey, DescribeKey by id, ARN, alias
and alias ARN, ListKeys paging, Enable/Disable, UpdateKeyDescription), aliases and their rules,
Encrypt/Decrypt/ReEncrypt/GenerateDataKey(WithoutPlaintext)/GenerateRandom with encryption
contexts, AWS's errors for disabled keys, wrong contexts, tampered blobs and other regions, and
plaintexts that never reach the audit trail."""
import base64
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import aws, client, error_of, trail_rows, wait_for_event

SECRET = "kms-plaintext-" + uuid.uuid4().hex


def uniq(prefix="alias/test"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def kms(server):
    return client(server, "kms")


@pytest.fixture
def key(kms):
    return kms.create_key(Description="test key")["KeyMetadata"]


def fails(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return error_of(e.value)


def test_create_key_metadata(kms, server):
    md = kms.create_key(Description="d1", Tags=[{"TagKey": "team", "TagValue": "sec"}])["KeyMetadata"]
    key_id = md["KeyId"]
    assert str(uuid.UUID(key_id)) == key_id
    assert md["Arn"] == f"arn:aws:kms:us-east-1:{server.account_id}:key/{key_id}"
    assert md["AWSAccountId"] == server.account_id
    assert md["Enabled"] is True
    assert md["Description"] == "d1"
    assert md["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert md["KeyState"] == "Enabled"
    assert md["Origin"] == "AWS_KMS"
    assert md["KeyManager"] == "CUSTOMER"
    assert md["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert md["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert md["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert md["MultiRegion"] is False
    assert "CreationDate" in md


def test_create_key_spec_usage_rules(kms):
    # SIGN_VERIFY is not a usage of a symmetric key; an asymmetric key needs a usage.
    status, code, _ = fails(kms.create_key, KeyUsage="SIGN_VERIFY")
    assert (status, code) == (400, "ValidationException")
    status, code, _ = fails(kms.create_key, KeySpec="RSA_2048")
    assert (status, code) == (400, "ValidationException")
    status, code, _ = fails(kms.create_key, KeySpec="SM2", KeyUsage="SIGN_VERIFY")
    assert (status, code) == (400, "UnsupportedOperationException")


def test_describe_key_all_forms(kms, key):
    alias = uniq()
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    alias_arn = key["Arn"].rsplit(":", 1)[0] + ":" + alias
    for ref in (key["KeyId"], key["Arn"], alias, alias_arn):
        assert kms.describe_key(KeyId=ref)["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_describe_missing(kms, server):
    missing = str(uuid.uuid4())
    status, code, msg = fails(kms.describe_key, KeyId=missing)
    assert (status, code) == (400, "NotFoundException")
    assert msg == f"Key 'arn:aws:kms:us-east-1:{server.account_id}:key/{missing}' does not exist"
    status, code, msg = fails(kms.describe_key, KeyId="alias/does-not-exist")
    assert code == "NotFoundException"
    assert msg == f"Alias arn:aws:kms:us-east-1:{server.account_id}:alias/does-not-exist is not found."


def test_keys_are_regional(server, kms, key):
    eu = client(server, "kms", region_name="eu-west-1")
    assert fails(eu.describe_key, KeyId=key["KeyId"])[1] == "NotFoundException"
    assert fails(eu.describe_key, KeyId=key["Arn"])[1] == "NotFoundException"
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    assert fails(eu.decrypt, CiphertextBlob=ct)[1] == "InvalidCiphertextException"
    ids = {k["KeyId"] for k in eu.list_keys()["Keys"]}
    assert key["KeyId"] not in ids


def test_list_keys_paging(kms):
    made = {kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(3)}
    seen, marker, pages = [], None, 0
    while True:
        kw = {"Limit": 2}
        if marker:
            kw["Marker"] = marker
        r = kms.list_keys(**kw)
        pages += 1
        assert len(r["Keys"]) <= 2
        seen += [k["KeyId"] for k in r["Keys"]]
        if not r["Truncated"]:
            assert "NextMarker" not in r
            break
        marker = r["NextMarker"]
    assert pages >= 2
    assert made <= set(seen)
    assert len(seen) == len(set(seen))
    assert all(k["KeyArn"].endswith(k["KeyId"]) for k in kms.list_keys()["Keys"])


def test_enable_disable_update_description(kms, key):
    kid = key["KeyId"]
    ct = kms.encrypt(KeyId=kid, Plaintext=b"hello")["CiphertextBlob"]
    kms.disable_key(KeyId=kid)
    md = kms.describe_key(KeyId=kid)["KeyMetadata"]
    assert (md["Enabled"], md["KeyState"]) == (False, "Disabled")
    status, code, msg = fails(kms.encrypt, KeyId=kid, Plaintext=b"x")
    assert (status, code, msg) == (400, "DisabledException", f"{key['Arn']} is disabled.")
    assert fails(kms.decrypt, CiphertextBlob=ct)[1] == "DisabledException"
    assert fails(kms.generate_data_key, KeyId=kid, KeySpec="AES_256")[1] == "DisabledException"
    kms.enable_key(KeyId=kid)
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"hello"
    kms.update_key_description(KeyId=kid, Description="new words")
    assert kms.describe_key(KeyId=kid)["KeyMetadata"]["Description"] == "new words"


def test_alias_rules(kms, key, server):
    other = kms.create_key()["KeyMetadata"]
    alias = uniq()
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    arn = f"arn:aws:kms:us-east-1:{server.account_id}:{alias}"
    status, code, msg = fails(kms.create_alias, AliasName=alias, TargetKeyId=other["KeyId"])
    assert (status, code, msg) == (400, "AlreadyExistsException", f"An alias with the name {arn} already exists")
    assert fails(kms.create_alias, AliasName="alias/aws/mine", TargetKeyId=key["KeyId"])[1] == "NotAuthorizedException"
    assert fails(kms.create_alias, AliasName="noprefix", TargetKeyId=key["KeyId"])[1] == "InvalidAliasNameException"
    assert fails(kms.create_alias, AliasName=uniq(), TargetKeyId=str(uuid.uuid4()))[1] == "NotFoundException"
    entries = kms.list_aliases(KeyId=key["KeyId"])["Aliases"]
    assert [(a["AliasName"], a["AliasArn"], a["TargetKeyId"]) for a in entries] == [(alias, arn, key["KeyId"])]
    kms.update_alias(AliasName=alias, TargetKeyId=other["KeyId"])
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == other["KeyId"]
    assert kms.list_aliases(KeyId=key["KeyId"])["Aliases"] == []
    missing = uniq()
    status, code, msg = fails(kms.update_alias, AliasName=missing, TargetKeyId=key["KeyId"])
    assert code == "NotFoundException"
    kms.delete_alias(AliasName=alias)
    status, code, msg = fails(kms.delete_alias, AliasName=alias)
    assert (status, code, msg) == (400, "NotFoundException", f"Alias {arn} is not found.")
    assert fails(kms.describe_key, KeyId=alias)[1] == "NotFoundException"


def test_list_aliases_paging(kms, key):
    names = sorted(uniq("alias/page") for _ in range(3))
    for n in names:
        kms.create_alias(AliasName=n, TargetKeyId=key["KeyId"])
    r = kms.list_aliases(KeyId=key["KeyId"], Limit=2)
    assert r["Truncated"] is True and len(r["Aliases"]) == 2
    r2 = kms.list_aliases(KeyId=key["KeyId"], Limit=2, Marker=r["NextMarker"])
    assert r2["Truncated"] is False
    assert [a["AliasName"] for a in r["Aliases"] + r2["Aliases"]] == names


def test_encrypt_decrypt_with_context(kms, key):
    ctx = {"purpose": "test", "tenant": "a"}
    r = kms.encrypt(KeyId=key["KeyId"], Plaintext=SECRET.encode(), EncryptionContext=ctx)
    assert r["KeyId"] == key["Arn"]
    assert r["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    ct = r["CiphertextBlob"]
    assert len(ct) < len(SECRET) + 150
    d = kms.decrypt(CiphertextBlob=ct, EncryptionContext=ctx)
    assert d["Plaintext"] == SECRET.encode()
    assert d["KeyId"] == key["Arn"]
    d = kms.decrypt(CiphertextBlob=ct, EncryptionContext=ctx, KeyId=key["Arn"])
    assert d["Plaintext"] == SECRET.encode()
    for wrong in ({}, {"purpose": "test"}, {"purpose": "test", "tenant": "b"}):
        status, code, _ = fails(kms.decrypt, CiphertextBlob=ct, EncryptionContext=wrong)
        assert (status, code) == (400, "InvalidCiphertextException")


def test_context_encoding_is_injective(kms, key):
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"ab": "c"})["CiphertextBlob"]
    assert fails(kms.decrypt, CiphertextBlob=ct, EncryptionContext={"a": "bc"})[1] == "InvalidCiphertextException"


def test_tampered_and_garbage(kms, key):
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"tamper me")["CiphertextBlob"]
    for i in (0, 5, 20, 40, len(ct) - 1):
        bad = bytearray(ct)
        bad[i] ^= 0x01
        status, code, _ = fails(kms.decrypt, CiphertextBlob=bytes(bad))
        assert (status, code) == (400, "InvalidCiphertextException"), i
    for garbage in (b"x", b"\x01" * 70, ct[:-1]):
        assert fails(kms.decrypt, CiphertextBlob=garbage)[1] == "InvalidCiphertextException"


def test_decrypt_with_other_key(kms, key):
    other = kms.create_key()["KeyMetadata"]
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    assert fails(kms.decrypt, CiphertextBlob=ct, KeyId=other["KeyId"])[1] == "IncorrectKeyException"


def test_generate_data_key(kms, key):
    ctx = {"k": "v"}
    r = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext=ctx)
    assert len(r["Plaintext"]) == 32
    assert r["KeyId"] == key["Arn"]
    assert kms.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext=ctx)["Plaintext"] == r["Plaintext"]
    assert len(kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_128")["Plaintext"]) == 16
    assert len(kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=7)["Plaintext"]) == 7
    for kw in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}):
        status, code, msg = fails(kms.generate_data_key, KeyId=key["KeyId"], **kw)
        assert (status, code) == (400, "ValidationException")
        assert msg == "Please specify either number of bytes or key spec."
    w = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256")
    assert "Plaintext" not in w
    assert len(kms.decrypt(CiphertextBlob=w["CiphertextBlob"])["Plaintext"]) == 32


def test_generate_random(kms):
    a = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    b = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    assert len(a) == 32 and a != b
    assert len(kms.generate_random(NumberOfBytes=1024)["Plaintext"]) == 1024
    assert fails(kms.generate_random, NumberOfBytes=1025)[1] == "ValidationException"


def test_plaintext_limits(kms, key):
    assert kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=key["KeyId"], Plaintext=b"a" * 4096)["CiphertextBlob"])["Plaintext"] == b"a" * 4096
    assert fails(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"a" * 4097)[1] == "ValidationException"


def test_re_encrypt(kms, key):
    dst = kms.create_key()["KeyMetadata"]
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"move me", EncryptionContext={"a": "1"})["CiphertextBlob"]
    r = kms.re_encrypt(CiphertextBlob=ct, SourceEncryptionContext={"a": "1"}, DestinationKeyId=dst["KeyId"],
                       DestinationEncryptionContext={"b": "2"})
    assert (r["SourceKeyId"], r["KeyId"]) == (key["Arn"], dst["Arn"])
    assert kms.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext={"b": "2"})["Plaintext"] == b"move me"
    assert fails(kms.re_encrypt, CiphertextBlob=ct, DestinationKeyId=dst["KeyId"])[1] == "InvalidCiphertextException"
    assert fails(kms.re_encrypt, CiphertextBlob=ct, SourceEncryptionContext={"a": "1"}, SourceKeyId=dst["KeyId"],
                 DestinationKeyId=dst["KeyId"])[1] == "IncorrectKeyException"


def test_crypto_events_show_algorithm_and_key_material(server, kms, key):
    """As AWS's published log entries: requestParameters always carry the encryption algorithm
    (SYMMETRIC_DEFAULT when the caller left it out), additionalEventData names the key material
    used, and neither ciphertext nor plaintext appears."""
    dst = kms.create_key()["KeyMetadata"]
    enc = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"Department": "Engineering"})
    dec = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext={"Department": "Engineering"})
    material = dec["KeyMaterialId"]
    assert len(material) == 64
    ev = wait_for_event(server, enc["ResponseMetadata"]["RequestId"])
    assert ev["requestParameters"] == {"keyId": key["KeyId"], "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                                       "encryptionContext": {"Department": "Engineering"}}
    assert ev["additionalEventData"]["keyMaterialId"] == material
    assert ev["readOnly"] is True
    assert ev["resources"] == [{"ARN": key["Arn"], "accountId": key["AWSAccountId"], "type": "AWS::KMS::Key"}]

    ev = wait_for_event(server, dec["ResponseMetadata"]["RequestId"])
    assert ev["requestParameters"] == {"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                                       "encryptionContext": {"Department": "Engineering"}}
    assert ev["additionalEventData"]["keyMaterialId"] == material

    re = kms.re_encrypt(CiphertextBlob=enc["CiphertextBlob"], SourceEncryptionContext={"Department": "Engineering"},
                        DestinationKeyId=dst["KeyId"])
    ev = wait_for_event(server, re["ResponseMetadata"]["RequestId"])
    assert ev["requestParameters"]["sourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert ev["requestParameters"]["destinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert ev["additionalEventData"]["sourceKeyMaterialId"] == material
    assert ev["additionalEventData"]["destinationKeyMaterialId"] == re["DestinationKeyMaterialId"] != material

    gdk = kms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256")
    ev = wait_for_event(server, gdk["ResponseMetadata"]["RequestId"])
    assert ev["requestParameters"] == {"keyId": key["Arn"], "keySpec": "AES_256"}
    assert ev["additionalEventData"]["keyMaterialId"] == material

    # A failed Decrypt still shows the algorithm, but no key material was used.
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext={"Department": "Sales"})
    ev = wait_for_event(server, e.value.response["ResponseMetadata"]["RequestId"])
    assert ev["errorCode"] == "InvalidCiphertextException"
    assert ev["requestParameters"]["encryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert "keyMaterialId" not in (ev.get("additionalEventData") or {})


def test_key_policy(kms, key, server):
    assert kms.list_key_policies(KeyId=key["KeyId"])["PolicyNames"] == ["default"]
    doc = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    st = doc["Statement"][0]
    assert st["Principal"] == {"AWS": f"arn:aws:iam::{server.account_id}:root"}
    assert (st["Effect"], st["Action"], st["Resource"]) == ("Allow", "kms:*", "*")


def test_cli_round_trip(server, tmp_path):
    md = aws(server, "kms", "create-key", "--description", "cli")["KeyMetadata"]
    data = tmp_path / "plain.bin"
    data.write_bytes(SECRET.encode())
    out = aws(server, "kms", "encrypt", "--key-id", md["KeyId"], "--plaintext", f"fileb://{data}",
              "--encryption-context", "app=cli")
    blob = tmp_path / "ct.bin"
    blob.write_bytes(base64.b64decode(out["CiphertextBlob"]))
    d = aws(server, "kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}", "--encryption-context", "app=cli")
    assert base64.b64decode(d["Plaintext"]) == SECRET.encode()
    assert d["KeyId"] == md["Arn"]


def test_zz_plaintext_never_in_trail(server, kms, key):
    kms.encrypt(KeyId=key["KeyId"], Plaintext=SECRET.encode())
    rows = trail_rows(server, "event_source = ?", ("kms.amazonaws.com",))
    assert rows
    encrypts = [r for r in rows if r["event_name"] == "Encrypt"]
    assert encrypts
    for r in rows:
        assert SECRET not in r["record"]
        assert base64.b64encode(SECRET.encode()).decode() not in r["record"]
    # CloudTrail omits the plaintext (and any ciphertext) of KMS calls altogether.
    assert all("plaintext" not in (r["event"].get("requestParameters") or {}) for r in encrypts)
    assert all("ciphertextBlob" not in (r["event"].get("requestParameters") or {})
               for r in rows if r["event_name"] == "Decrypt")


def test_get_key_last_usage_from_the_trail(kms, key):
    import time
    r = kms.get_key_last_usage(KeyId=key["Arn"])
    assert r["KeyId"] == key["KeyId"]
    assert r["KeyLastUsage"] == {}
    assert r["TrackingStartDate"] == r["KeyCreationDate"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    res = kms.decrypt(CiphertextBlob=blob)
    kms.describe_key(KeyId=key["KeyId"])  # not a cryptographic operation: not tracked
    fails(kms.decrypt, CiphertextBlob=blob, EncryptionContext={"wrong": "context"})  # failed: not tracked
    deadline = time.monotonic() + 10
    while True:
        usage = kms.get_key_last_usage(KeyId=key["KeyId"])["KeyLastUsage"]
        if usage.get("KmsRequestId") == res["ResponseMetadata"]["RequestId"]:
            break
        assert time.monotonic() < deadline, usage
        time.sleep(0.2)
    assert usage["Operation"] == "Decrypt"
    assert usage["CloudTrailEventId"]
    status, code, _ = fails(kms.get_key_last_usage, KeyId="00000000-0000-0000-0000-000000000000")
    assert (status, code) == (400, "NotFoundException")


def test_custom_key_stores_do_not_exist(kms):
    assert kms.describe_custom_key_stores()["CustomKeyStores"] == []
    for call, kw in [
        (kms.describe_custom_key_stores, {"CustomKeyStoreId": "cks-1234567890abcdef0"}),
        (kms.connect_custom_key_store, {"CustomKeyStoreId": "cks-1234567890abcdef0"}),
        (kms.disconnect_custom_key_store, {"CustomKeyStoreId": "cks-1234567890abcdef0"}),
        (kms.delete_custom_key_store, {"CustomKeyStoreId": "cks-1234567890abcdef0"}),
        (kms.update_custom_key_store, {"CustomKeyStoreId": "cks-1234567890abcdef0", "NewCustomKeyStoreName": "x"}),
        (kms.create_key, {"CustomKeyStoreId": "cks-1234567890abcdef0", "Origin": "AWS_CLOUDHSM"}),
    ]:
        status, code, _ = fails(call, **kw)
        assert (status, code) == (400, "CustomKeyStoreNotFoundException"), call
    status, code, _ = fails(kms.create_custom_key_store, CustomKeyStoreName="hsm", CloudHsmClusterId="cluster-234abcdefABC",
                            TrustAnchorCertificate="x", KeyStorePassword="password1")
    assert (status, code) == (400, "CloudHsmClusterNotFoundException")

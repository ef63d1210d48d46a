"""Imported key material through boto3: CreateKey(Origin=EXTERNAL) -> PendingImport,
GetParametersForImport (RSA wrapping keys, import tokens), ImportKeyMaterial wrapped offline with
the `cryptography` package (RSAES-OAEP SHA-256 and RSA-AES key wrap), expiry settings,
DeleteImportedKeyMaterial -> PendingImport, and re-importing the same material restoring old
ciphertexts while other material is refused."""
import datetime as dt
import os

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from conftest import client, error_of


@pytest.fixture(scope="module")
def kms(server):
    return client(server, "kms")


def fails(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return error_of(e.value)


def wrap(params, material, algorithm):
    public = serialization.load_der_public_key(params["PublicKey"])
    if algorithm == "RSAES_OAEP_SHA_256":
        return public.encrypt(material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    aes = os.urandom(32)
    head = public.encrypt(aes, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    return head + aes_key_wrap_with_padding(aes, material)


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256"])
def test_import_round_trip(kms, algorithm):
    md = kms.create_key(Origin="EXTERNAL", Description="byok")["KeyMetadata"]
    assert md["Origin"] == "EXTERNAL" and md["KeyState"] == "PendingImport" and not md["Enabled"]
    key = md["KeyId"]
    status, code, msg = fails(kms.encrypt, KeyId=key, Plaintext=b"x")
    assert (status, code) == (400, "KMSInvalidStateException") and "pending import" in msg
    params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm=algorithm, WrappingKeySpec="RSA_2048")
    assert params["ParametersValidTo"] > dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=23)
    material = os.urandom(32)
    r = kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=wrap(params, material, algorithm),
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    material_id = r["KeyMaterialId"]
    md = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert md["KeyState"] == "Enabled" and md["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    blob = kms.encrypt(KeyId=key, Plaintext=b"imported")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"

    # Deleting the material makes the key unusable until the same material comes back.
    kms.delete_imported_key_material(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    status, code, _ = fails(kms.decrypt, CiphertextBlob=blob)
    assert code == "KMSInvalidStateException"
    params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm=algorithm, WrappingKeySpec="RSA_3072")
    status, code, _ = fails(kms.import_key_material, KeyId=key, ImportToken=params["ImportToken"],
                            EncryptedKeyMaterial=wrap(params, os.urandom(32), algorithm),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert (status, code) == (400, "IncorrectKeyMaterialException")
    again = kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"],
                                    EncryptedKeyMaterial=wrap(params, material, algorithm),
                                    ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert again["KeyMaterialId"] == material_id
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"


def test_import_tokens_and_rules(kms):
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    first = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    second = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    material = os.urandom(32)
    # Only the latest parameters count.
    status, code, _ = fails(kms.import_key_material, KeyId=key, ImportToken=first["ImportToken"],
                            EncryptedKeyMaterial=wrap(first, material, "RSAES_OAEP_SHA_256"),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert code == "InvalidImportTokenException"
    status, code, _ = fails(kms.import_key_material, KeyId=key, ImportToken=b"garbage",
                            EncryptedKeyMaterial=b"x" * 256, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert code == "InvalidImportTokenException"
    # Material wrapped under another key does not unwrap; a 16-byte key is not 256 bits.
    status, code, _ = fails(kms.import_key_material, KeyId=key, ImportToken=second["ImportToken"],
                            EncryptedKeyMaterial=wrap(first, material, "RSAES_OAEP_SHA_256"),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert code == "InvalidCiphertextException"
    status, code, _ = fails(kms.import_key_material, KeyId=key, ImportToken=second["ImportToken"],
                            EncryptedKeyMaterial=wrap(second, os.urandom(16), "RSAES_OAEP_SHA_256"),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert code == "IncorrectKeyMaterialException"
    # Expiring material needs a ValidTo in the future.
    status, code, _ = fails(kms.import_key_material, KeyId=key, ImportToken=second["ImportToken"],
                            EncryptedKeyMaterial=wrap(second, material, "RSAES_OAEP_SHA_256"))
    assert code == "ValidationException"
    valid_to = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)
    kms.import_key_material(KeyId=key, ImportToken=second["ImportToken"],
                            EncryptedKeyMaterial=wrap(second, material, "RSAES_OAEP_SHA_256"), ValidTo=valid_to)
    md = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert md["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert abs((md["ValidTo"] - valid_to).total_seconds()) < 2
    # Imports are for EXTERNAL keys; EXTERNAL keys do not rotate.
    normal = kms.create_key()["KeyMetadata"]["KeyId"]
    status, code, _ = fails(kms.get_parameters_for_import, KeyId=normal, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    assert code == "UnsupportedOperationException"
    status, code, _ = fails(kms.enable_key_rotation, KeyId=key)
    assert code == "UnsupportedOperationException"


def _import(kms, key, der, algorithm="RSA_AES_KEY_WRAP_SHA_256"):
    params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm=algorithm, WrappingKeySpec="RSA_3072")
    return kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"],
                                   EncryptedKeyMaterial=wrap(params, der, algorithm),
                                   ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")


def _pkcs8(private):
    return private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def _spki(private):
    return private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


def test_import_asymmetric_signing_keys(kms):
    """RSA, ECC and Ed25519 private keys made offline (PKCS#8), imported: GetPublicKey gives the
    offline public key, KMS signatures verify with it, and a key of another size or curve is
    refused as IncorrectKeyMaterialException."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    msg = b"imported signing key " + os.urandom(8)
    cases = [
        ("RSA_2048", rsa.generate_private_key(65537, 2048), "RSASSA_PSS_SHA_256",
         lambda pub, sig: pub.verify(sig, msg, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256()),
         rsa.generate_private_key(65537, 3072)),
        ("ECC_NIST_P256", ec.generate_private_key(ec.SECP256R1()), "ECDSA_SHA_256",
         lambda pub, sig: pub.verify(sig, msg, ec.ECDSA(hashes.SHA256())),
         ec.generate_private_key(ec.SECP384R1())),
        ("ECC_SECG_P256K1", ec.generate_private_key(ec.SECP256K1()), "ECDSA_SHA_256",
         lambda pub, sig: pub.verify(sig, msg, ec.ECDSA(hashes.SHA256())),
         ec.generate_private_key(ec.SECP256R1())),
        ("ECC_NIST_EDWARDS25519", ed25519.Ed25519PrivateKey.generate(), "ED25519_SHA_512",
         lambda pub, sig: pub.verify(sig, msg),
         ec.generate_private_key(ec.SECP256R1())),
    ]
    for spec, private, alg, check, wrong in cases:
        md = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY", Origin="EXTERNAL")["KeyMetadata"]
        assert md["KeyState"] == "PendingImport", spec
        assert fails(kms.get_public_key, KeyId=md["KeyId"])[1] == "KMSInvalidStateException"
        status, code, _ = fails(_import, kms=kms, key=md["KeyId"], der=_pkcs8(wrong))
        assert (status, code) == (400, "IncorrectKeyMaterialException"), spec
        first = _import(kms, md["KeyId"], _pkcs8(private))["KeyMaterialId"]
        assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
        assert kms.get_public_key(KeyId=md["KeyId"])["PublicKey"] == _spki(private), spec
        sig = kms.sign(KeyId=md["KeyId"], Message=msg, SigningAlgorithm=alg)["Signature"]
        check(private.public_key(), sig)
        # The same key re-imported keeps its material id.
        kms.delete_imported_key_material(KeyId=md["KeyId"])
        assert _import(kms, md["KeyId"], _pkcs8(private))["KeyMaterialId"] == first
    # Not a private key at all.
    md = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY", Origin="EXTERNAL")["KeyMetadata"]
    assert fails(_import, kms=kms, key=md["KeyId"], der=os.urandom(120))[1] == "IncorrectKeyMaterialException"


def test_import_rsa_encryption_key(kms):
    """Data encrypted offline with the imported key's public half decrypts in KMS."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(65537, 3072)
    md = kms.create_key(KeySpec="RSA_3072", KeyUsage="ENCRYPT_DECRYPT", Origin="EXTERNAL")["KeyMetadata"]
    _import(kms, md["KeyId"], _pkcs8(private))
    ct = private.public_key().encrypt(b"for kms", padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
    assert kms.decrypt(KeyId=md["KeyId"], CiphertextBlob=ct, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"for kms"
    # Post-quantum key material cannot be imported (yet).
    status, code, _ = fails(kms.create_key, KeySpec="ML_DSA_44", KeyUsage="SIGN_VERIFY", Origin="EXTERNAL")
    assert code == "UnsupportedOperationException"


def _import_sym(kms, key, material, **kw):
    params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    return kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"],
                                   EncryptedKeyMaterial=wrap(params, material, "RSAES_OAEP_SHA_256"),
                                   ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE", **kw)


def _materials(kms, key, which="ALL_KEY_MATERIAL"):
    return [(r["KeyMaterialId"], r.get("KeyMaterialState"), r.get("ImportState"))
            for r in kms.list_key_rotations(KeyId=key, IncludeKeyMaterial=which)["Rotations"]]


def test_imported_material_rotation(kms):
    """Several imported materials on one symmetric key, as AWS since 2025: NEW_KEY_MATERIAL waits
    in PENDING_ROTATION until RotateKeyOnDemand makes it current; old ciphertexts keep
    decrypting while their material is imported; materials are deleted and re-imported by id."""
    key = kms.create_key(Origin="EXTERNAL", Description="rotating byok")["KeyMetadata"]["KeyId"]
    m1, m2, m3 = os.urandom(32), os.urandom(32), os.urandom(32)
    id1 = _import_sym(kms, key, m1, KeyMaterialDescription="first")["KeyMaterialId"]
    assert len(id1) == 64 and set(id1) <= set("0123456789abcdef")
    blob1 = kms.encrypt(KeyId=key, Plaintext=b"one")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob1)["KeyMaterialId"] == id1
    # Without ImportType a second, different material is taken as EXISTING: refused.
    assert fails(_import_sym, kms=kms, key=key, material=m2)[1] == "IncorrectKeyMaterialException"
    assert fails(_import_sym, kms=kms, key=key, material=m2, ImportType="NEW_KEY_MATERIAL",
                 KeyMaterialId=id1)[1] == "ValidationException"
    id2 = _import_sym(kms, key, m2, ImportType="NEW_KEY_MATERIAL", KeyMaterialDescription="second")["KeyMaterialId"]
    assert _materials(kms, key) == [(id1, "CURRENT", "IMPORTED"), (id2, "PENDING_ROTATION", "IMPORTED")]
    assert _materials(kms, key, "ROTATIONS_ONLY") == []
    md = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert md["CurrentKeyMaterialId"] == id1 and md["KeyState"] == "Enabled"
    # One material pending rotation at a time; the same material cannot be NEW twice.
    assert fails(_import_sym, kms=kms, key=key, material=m3, ImportType="NEW_KEY_MATERIAL")[1] == "ValidationException"
    assert fails(_import_sym, kms=kms, key=key, material=m1, ImportType="NEW_KEY_MATERIAL")[1] == "IncorrectKeyMaterialException"

    kms.rotate_key_on_demand(KeyId=key)
    assert _materials(kms, key) == [(id1, "NON_CURRENT", "IMPORTED"), (id2, "CURRENT", "IMPORTED")]
    rot = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert [(r["KeyMaterialId"], r["RotationType"], r["KeyMaterialDescription"]) for r in rot] == [(id2, "ON_DEMAND", "second")]
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == id2
    blob2 = kms.encrypt(KeyId=key, Plaintext=b"two")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob2)["KeyMaterialId"] == id2
    d1 = kms.decrypt(CiphertextBlob=blob1)
    assert d1["Plaintext"] == b"one" and d1["KeyMaterialId"] == id1
    # Nothing pending: no rotation.
    assert fails(kms.rotate_key_on_demand, KeyId=key)[1] == "KMSInvalidStateException"

    # Deleting any permanently associated material, current or not, makes the key PendingImport
    # until the same material is re-imported (by id), as AWS documents.
    kms.delete_imported_key_material(KeyId=key, KeyMaterialId=id1)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    assert _materials(kms, key)[0] == (id1, "NON_CURRENT", "PENDING_IMPORT")
    status, code, _ = fails(kms.decrypt, CiphertextBlob=blob1)
    assert (status, code) == (400, "KMSInvalidStateException")
    assert fails(_import_sym, kms=kms, key=key, material=m1, KeyMaterialId=id2)[1] == "IncorrectKeyMaterialException"
    assert _import_sym(kms, key, m1, ImportType="EXISTING_KEY_MATERIAL", KeyMaterialId=id1)["KeyMaterialId"] == id1
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.decrypt(CiphertextBlob=blob1)["Plaintext"] == b"one"

    # Material pending rotation can be deleted outright and replaced.
    id3 = _import_sym(kms, key, m3, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
    kms.delete_imported_key_material(KeyId=key, KeyMaterialId=id3)
    assert id3 not in [m[0] for m in _materials(kms, key)]

    # Deleting the current material (the default) makes the key PendingImport.
    assert kms.delete_imported_key_material(KeyId=key)["KeyMaterialId"] == id2
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    assert _materials(kms, key)[1] == (id2, "CURRENT", "PENDING_IMPORT")
    assert fails(kms.delete_imported_key_material, KeyId=key, KeyMaterialId="0" * 64)[1] == "NotFoundException"
    _import_sym(kms, key, m2)
    assert kms.decrypt(CiphertextBlob=blob2)["Plaintext"] == b"two"
    # Automatic rotation stays unavailable for imported material.
    assert fails(kms.enable_key_rotation, KeyId=key)[1] == "UnsupportedOperationException"


def test_import_type_only_for_symmetric_keys(kms):
    key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    assert fails(_import_sym, kms=kms, key=key, material=os.urandom(32), ImportType="NEW_KEY_MATERIAL")[1] == "ValidationException"
    _import_sym(kms, key, os.urandom(32))
    assert fails(kms.rotate_key_on_demand, KeyId=key)[1] == "UnsupportedOperationException"


def test_multi_region_key_with_imported_material(server, kms):
    """A multi-Region key with imported material: the replica starts in PendingImport, the same
    material goes into each related key (other material is IncorrectKeyMaterialException),
    and a ciphertext made in one Region decrypts in the other."""
    west = client(server, "kms", region_name="us-west-2")
    md = kms.create_key(Origin="EXTERNAL", MultiRegion=True, Description="byok mrk")["KeyMetadata"]
    assert md["KeyId"].startswith("mrk-") and md["KeyState"] == "PendingImport" and md["Origin"] == "EXTERNAL"
    key = md["KeyId"]
    replica = kms.replicate_key(KeyId=key, ReplicaRegion="us-west-2")["ReplicaKeyMetadata"]
    assert replica["KeyState"] == "PendingImport" and replica["Origin"] == "EXTERNAL"
    material = os.urandom(32)
    first = _import_sym(kms, key, material)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    assert west.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    blob = kms.encrypt(KeyId=key, Plaintext=b"everywhere")["CiphertextBlob"]
    status, code, _ = fails(_import_sym, kms=west, key=key, material=os.urandom(32))
    assert code == "IncorrectKeyMaterialException"
    second = _import_sym(west, key, material)
    assert second["KeyMaterialId"] == first["KeyMaterialId"]
    assert west.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"everywhere"
    assert kms.decrypt(CiphertextBlob=west.encrypt(KeyId=key, Plaintext=b"back")["CiphertextBlob"])["Plaintext"] == b"back"
    # Each related key's material is its own to delete.
    west.delete_imported_key_material(KeyId=key)
    assert west.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"everywhere"
    _import_sym(west, key, material)


def test_multi_region_imported_material_rotation(server, kms):
    """On-demand rotation of related multi-Region keys with imported material, as AWS documents
    it: NEW_KEY_MATERIAL goes into the primary (PENDING_MULTI_REGION_IMPORT_AND_ROTATION), the
    same material into every replica with EXISTING_KEY_MATERIAL (then PENDING_ROTATION), and
    RotateKeyOnDemand on the primary rotates them all; ciphertexts cross Regions either way."""
    west = client(server, "kms", region_name="us-west-2")
    eu = client(server, "kms", region_name="eu-west-1")
    key = kms.create_key(Origin="EXTERNAL", MultiRegion=True, Description="rotating mrk")["KeyMetadata"]["KeyId"]
    kms.replicate_key(KeyId=key, ReplicaRegion="us-west-2")
    m1, m2 = os.urandom(32), os.urandom(32)
    id1 = _import_sym(kms, key, m1)["KeyMaterialId"]
    assert _import_sym(west, key, m1)["KeyMaterialId"] == id1
    old_blob = kms.encrypt(KeyId=key, Plaintext=b"before")["CiphertextBlob"]

    # New material only through the primary.
    status, code, msg = fails(_import_sym, kms=west, key=key, material=m2, ImportType="NEW_KEY_MATERIAL")
    assert code == "UnsupportedOperationException" and "primary" in msg
    id2 = _import_sym(kms, key, m2, ImportType="NEW_KEY_MATERIAL", KeyMaterialDescription="second")["KeyMaterialId"]
    assert _materials(kms, key) == [(id1, "CURRENT", "IMPORTED"),
                                    (id2, "PENDING_MULTI_REGION_IMPORT_AND_ROTATION", "IMPORTED")]
    assert _materials(west, key) == [(id1, "CURRENT", "IMPORTED"), (id2, "PENDING_ROTATION", "PENDING_IMPORT")]
    status, code, msg = fails(kms.rotate_key_on_demand, KeyId=key)
    assert code == "KMSInvalidStateException" and "PENDING_MULTI_REGION_IMPORT_AND_ROTATION" in msg
    assert fails(west.rotate_key_on_demand, KeyId=key)[1] == "UnsupportedOperationException"

    # A replica made now learns both materials and waits for both.
    kms.replicate_key(KeyId=key, ReplicaRegion="eu-west-1")
    assert _materials(eu, key) == [(id1, "CURRENT", "PENDING_IMPORT"), (id2, "PENDING_ROTATION", "PENDING_IMPORT")]
    assert eu.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    assert fails(_import_sym, kms=eu, key=key, material=os.urandom(32))[1] == "IncorrectKeyMaterialException"
    _import_sym(eu, key, m1)
    assert eu.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"

    # Each replica imports the new material; the last one makes it PENDING_ROTATION.
    _import_sym(west, key, m2, ImportType="EXISTING_KEY_MATERIAL", KeyMaterialId=id2)
    assert _materials(kms, key)[1] == (id2, "PENDING_MULTI_REGION_IMPORT_AND_ROTATION", "IMPORTED")
    _import_sym(eu, key, m2)
    assert _materials(kms, key)[1] == (id2, "PENDING_ROTATION", "IMPORTED")
    # A replica deleting its copy puts the primary back to waiting.
    eu.delete_imported_key_material(KeyId=key, KeyMaterialId=id2)
    assert _materials(eu, key)[1] == (id2, "PENDING_ROTATION", "PENDING_IMPORT")
    assert eu.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    assert _materials(kms, key)[1][1] == "PENDING_MULTI_REGION_IMPORT_AND_ROTATION"
    _import_sym(eu, key, m2)

    kms.rotate_key_on_demand(KeyId=key)
    for c in (kms, west, eu):
        assert _materials(c, key) == [(id1, "NON_CURRENT", "IMPORTED"), (id2, "CURRENT", "IMPORTED")]
        assert c.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == id2
        rot = c.list_key_rotations(KeyId=key)["Rotations"]
        assert [(r["KeyMaterialId"], r["RotationType"]) for r in rot] == [(id2, "ON_DEMAND")]
    blob = west.encrypt(KeyId=key, Plaintext=b"after")["CiphertextBlob"]
    for c in (kms, west, eu):
        assert c.decrypt(CiphertextBlob=blob)["KeyMaterialId"] == id2
        assert c.decrypt(CiphertextBlob=old_blob)["Plaintext"] == b"before"

    # Material pending in the primary is deleted from every related key with it.
    m3 = os.urandom(32)
    id3 = _import_sym(kms, key, m3, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
    assert (id3, "PENDING_ROTATION", "PENDING_IMPORT") in _materials(west, key)
    kms.delete_imported_key_material(KeyId=key, KeyMaterialId=id3)
    for c in (kms, west, eu):
        assert id3 not in [m[0] for m in _materials(c, key)]

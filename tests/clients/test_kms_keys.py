"""KMS beyond symmetric encryption, through boto3 and the aws CLI: asymmetric, HMAC and ML keys
(metadata, GetPublicKey, Sign/Verify checked offline with the openssl CLI, RSA-OAEP with data
encrypted by openssl, ECDH against an openssl peer, data key pairs, ML-KEM), key states and
scheduled deletion (surviving a restart), rotation, tags, key policies enforced on the request
path (delegation to the account, direct grants to a user, encryption-context conditions,
explicit denies, the lockout safety check, refusals in the trail), grants (tokens, constraints,
retire and revoke), DryRun and the alias rules that depend on key types."""
import base64
import datetime as dt
import hashlib
import json
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import aws, client, error_of, request_id_of, trail_rows, wait_for_event

DAY = 86_400


def uniq(prefix="alias/keys"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def fails(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return error_of(e.value)


def code_of(call, **kw):
    return fails(call, **kw)[1]


def openssl(*args, data: bytes = None) -> bytes:
    p = subprocess.run(["openssl", *map(str, args)], input=data, capture_output=True, timeout=60)
    assert p.returncode == 0, f"openssl {' '.join(map(str, args))}: {p.stderr.decode(errors='replace')}"
    return p.stdout


def pem_of(der: bytes, tmp: Path, name: str) -> Path:
    """Writes a SubjectPublicKeyInfo DER key and its PEM form (via openssl); returns the PEM."""
    d = tmp / f"{name}.der"
    d.write_bytes(der)
    pem = tmp / f"{name}.pem"
    openssl("pkey", "-pubin", "-inform", "DER", "-in", d, "-out", pem)
    return pem


@pytest.fixture(scope="module")
def kms(server):
    return client(server, "kms")


@pytest.fixture(scope="module")
def admin_arn(server):
    return client(server, "sts").get_caller_identity()["Arn"]


_KEYS: dict = {}


@pytest.fixture(scope="module")
def keys(kms):
    """One key of each (spec, usage) the tests sign or encrypt with, made once."""

    def get(spec, usage=None):
        k = (spec, usage)
        if k not in _KEYS:
            kw = {"KeySpec": spec}
            if usage:
                kw["KeyUsage"] = usage
            _KEYS[k] = kms.create_key(**kw)["KeyMetadata"]
        return _KEYS[k]

    yield get
    _KEYS.clear()


def user_with(server, policy=None, name=None):
    """An IAM user (with an inline policy when given) and a boto3 KMS client signing as it."""
    iam = client(server, "iam")
    name = name or "kmsuser-" + uuid.uuid4().hex[:8]
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    ak = iam.create_access_key(UserName=name)["AccessKey"]
    c = client(server, "kms", aws_access_key_id=ak["AccessKeyId"], aws_secret_access_key=ak["SecretAccessKey"])
    return arn, c


KMS_ALL = {"Version": "2012-10-17", "Statement": [{"Sid": "AllKms", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}


def key_policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow_principal(arn, action="kms:*", sid="Direct", **extra):
    st = {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": arn}, "Action": action, "Resource": "*"}
    st.update(extra)
    return st


# --------------------------------------------------------------------------------------------
# 1. Asymmetric, HMAC and ML keys

RSA_SIGNING = ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
               "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"]

METADATA = [
    # spec, usage asked, usage, member, algorithms
    ("RSA_2048", "ENCRYPT_DECRYPT", "ENCRYPT_DECRYPT", "EncryptionAlgorithms", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]),
    ("RSA_2048", "SIGN_VERIFY", "SIGN_VERIFY", "SigningAlgorithms", RSA_SIGNING),
    ("ECC_NIST_P256", "SIGN_VERIFY", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_256"]),
    ("ECC_NIST_P384", "SIGN_VERIFY", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_384"]),
    ("ECC_NIST_P521", "SIGN_VERIFY", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_512"]),
    ("ECC_NIST_P256", "KEY_AGREEMENT", "KEY_AGREEMENT", "KeyAgreementAlgorithms", ["ECDH"]),
    ("ECC_SECG_P256K1", "SIGN_VERIFY", "SIGN_VERIFY", "SigningAlgorithms", ["ECDSA_SHA_256"]),
    ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY", "SIGN_VERIFY", "SigningAlgorithms", ["ED25519_SHA_512", "ED25519_PH_SHA_512"]),
    ("ML_DSA_44", "SIGN_VERIFY", "SIGN_VERIFY", "SigningAlgorithms", ["ML_DSA_SHAKE_256"]),
    ("ML_DSA_65", "SIGN_VERIFY", "SIGN_VERIFY", "SigningAlgorithms", ["ML_DSA_SHAKE_256"]),
    ("ML_DSA_87", "SIGN_VERIFY", "SIGN_VERIFY", "SigningAlgorithms", ["ML_DSA_SHAKE_256"]),
    ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE", "ENCAPSULATE_DECAPSULATE", "EncapsulationAlgorithms", ["ML_KEM"]),
    ("HMAC_256", "GENERATE_VERIFY_MAC", "GENERATE_VERIFY_MAC", "MacAlgorithms", ["HMAC_SHA_256"]),
]
ALG_MEMBERS = {"EncryptionAlgorithms", "SigningAlgorithms", "KeyAgreementAlgorithms", "EncapsulationAlgorithms",
               "MacAlgorithms"}


@pytest.mark.parametrize("spec,asked,usage,member,algs", METADATA, ids=[f"{m[0]}-{m[2]}" for m in METADATA])
def test_describe_asymmetric_metadata(kms, keys, spec, asked, usage, member, algs):
    md = keys(spec, asked)
    for got in (md, kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]):
        assert (got["KeySpec"], got["KeyUsage"], got["KeyState"]) == (spec, usage, "Enabled")
        # The deprecated CustomerMasterKeySpec has no value for the newer specs.
        if spec.startswith(("ML_", "ECC_NIST_EDWARDS")):
            assert "CustomerMasterKeySpec" not in got
        else:
            assert got["CustomerMasterKeySpec"] == spec
        assert got[member] == algs
        for other in ALG_MEMBERS - {member}:
            assert other not in got, other


def test_customer_master_key_spec_still_accepted(kms):
    md = kms.create_key(CustomerMasterKeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert (md["KeySpec"], md["CustomerMasterKeySpec"]) == ("ECC_NIST_P256", "ECC_NIST_P256")
    assert code_of(kms.create_key, CustomerMasterKeySpec="ECC_NIST_P256", KeySpec="ECC_NIST_P256",
                   KeyUsage="SIGN_VERIFY") == "ValidationException"


def test_asymmetric_key_needs_a_usage(kms):
    status, code, _ = fails(kms.create_key, KeySpec="ECC_NIST_P256")
    assert (status, code) == (400, "ValidationException")
    assert code_of(kms.create_key, KeySpec="ECC_SECG_P256K1", KeyUsage="KEY_AGREEMENT") == "ValidationException"
    assert code_of(kms.create_key, KeySpec="HMAC_256", KeyUsage="ENCRYPT_DECRYPT") == "ValidationException"
    # KeyUsage is optional only for symmetric encryption keys: HMAC and single-usage specs need it too.
    for spec in ("HMAC_256", "ECC_SECG_P256K1", "ML_DSA_44", "ML_KEM_768", "ECC_NIST_EDWARDS25519"):
        assert code_of(kms.create_key, KeySpec=spec) == "ValidationException", spec
    assert code_of(kms.create_key, KeyUsage="GENERATE_VERIFY_MAC") == "ValidationException"


@pytest.mark.parametrize("spec,usage", [("RSA_2048", "SIGN_VERIFY"), ("ECC_NIST_P256", "SIGN_VERIFY"),
                                        ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")])
def test_get_public_key(kms, keys, tmp_path, spec, usage):
    md = keys(spec, usage)
    r = kms.get_public_key(KeyId=md["KeyId"])
    assert (r["KeyId"], r["KeySpec"], r["KeyUsage"]) == (md["Arn"], spec, usage)
    if spec.startswith("ML_KEM"):
        assert r["EncapsulationAlgorithms"] == ["ML_KEM"]
        # SubjectPublicKeyInfo: SEQUENCE, the ML-KEM-768 OID (2.16.840.1.101.3.4.4.2), the 1184-byte key.
        assert bytes.fromhex("0609608648016503040402") in r["PublicKey"]
        assert len(r["PublicKey"]) == 1184 + 22
        return
    pem = pem_of(r["PublicKey"], tmp_path, "pub")
    text = openssl("pkey", "-pubin", "-in", pem, "-text", "-noout").decode()
    assert ("2048 bit" in text) if spec.startswith("RSA") else ("prime256v1" in text or "P-256" in text)


def test_public_key_of_symmetric_and_hmac_keys(kms, keys):
    sym = kms.create_key()["KeyMetadata"]
    assert code_of(kms.get_public_key, KeyId=sym["KeyId"]) == "UnsupportedOperationException"
    assert code_of(kms.get_public_key, KeyId=keys("HMAC_256", "GENERATE_VERIFY_MAC")["KeyId"]) == "UnsupportedOperationException"


SIGN_CASES = [
    ("RSA_2048", a, f"sha{a[-3:]}", "pss" if "PSS" in a else "pkcs1") for a in RSA_SIGNING
] + [
    ("ECC_NIST_P256", "ECDSA_SHA_256", "sha256", None),
    ("ECC_NIST_P384", "ECDSA_SHA_384", "sha384", None),
    ("ECC_NIST_P521", "ECDSA_SHA_512", "sha512", None),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256", "sha256", None),
]


@pytest.mark.parametrize("spec,alg,hash_name,padding", SIGN_CASES, ids=[f"{c[0]}-{c[1]}" for c in SIGN_CASES])
def test_sign_verify_offline(kms, keys, tmp_path, spec, alg, hash_name, padding):
    md = keys(spec, "SIGN_VERIFY")
    kid = md["KeyId"]
    pem = pem_of(kms.get_public_key(KeyId=kid)["PublicKey"], tmp_path, "pub")
    msg = b"rampart signs this " + uuid.uuid4().bytes
    (tmp_path / "msg").write_bytes(msg)
    digest = hashlib.new(hash_name, msg).digest()
    sigopts = []
    if padding == "pss":
        sigopts = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1"]
    for mtype, message in (("RAW", msg), ("DIGEST", digest)):
        r = kms.sign(KeyId=kid, Message=message, MessageType=mtype, SigningAlgorithm=alg)
        assert (r["KeyId"], r["SigningAlgorithm"]) == (md["Arn"], alg)
        sig = r["Signature"]
        # Both message types sign the same digest: each signature verifies as the other type too.
        for vtype, vmsg in (("RAW", msg), ("DIGEST", digest)):
            v = kms.verify(KeyId=kid, Message=vmsg, MessageType=vtype, Signature=sig, SigningAlgorithm=alg)
            assert v["SignatureValid"] is True
        (tmp_path / "sig").write_bytes(sig)
        out = openssl("dgst", f"-{hash_name}", "-verify", pem, *sigopts, "-signature", tmp_path / "sig",
                      tmp_path / "msg")
        assert b"Verified OK" in out
        # Tampered message: KMSInvalidSignatureException.
        status, code, _ = fails(kms.verify, KeyId=kid, Message=msg + b"!", MessageType="RAW", Signature=sig,
                                SigningAlgorithm=alg)
        assert (status, code) == (400, "KMSInvalidSignatureException")
    # A digest of the wrong length.
    assert code_of(kms.sign, KeyId=kid, Message=digest[:-1], MessageType="DIGEST",
                   SigningAlgorithm=alg) == "ValidationException"


def test_ed25519_sign_verify_offline(kms, keys, tmp_path):
    md = keys("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    pem = pem_of(kms.get_public_key(KeyId=md["KeyId"])["PublicKey"], tmp_path, "pub")
    msg = b"edwards " + uuid.uuid4().bytes
    sig = kms.sign(KeyId=md["KeyId"], Message=msg, MessageType="RAW", SigningAlgorithm="ED25519_SHA_512")["Signature"]
    assert len(sig) == 64
    (tmp_path / "msg").write_bytes(msg)
    (tmp_path / "sig").write_bytes(sig)
    out = openssl("pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin", "-in", tmp_path / "msg",
                  "-sigfile", tmp_path / "sig")
    assert b"Signature Verified Successfully" in out
    assert kms.verify(KeyId=md["KeyId"], Message=msg, Signature=sig,
                      SigningAlgorithm="ED25519_SHA_512")["SignatureValid"] is True
    assert code_of(kms.verify, KeyId=md["KeyId"], Message=msg + b"x", Signature=sig,
                   SigningAlgorithm="ED25519_SHA_512") == "KMSInvalidSignatureException"
    # ED25519_SHA_512 takes RAW messages only (AWS: "requires KMS MessageType:RAW").
    assert code_of(kms.sign, KeyId=md["KeyId"], Message=hashlib.sha512(msg).digest(), MessageType="DIGEST",
                   SigningAlgorithm="ED25519_SHA_512") == "ValidationException"


def test_ed25519ph_sign(kms, keys, tmp_path):
    """ED25519_PH_SHA_512 (RFC 8032 Ed25519ph; the crate's unit test checks RFC 8032's vector):
    RAW messages are hashed with SHA-512 by KMS, DIGEST takes the 64-byte hash; Ed25519 is
    deterministic, so both give the same signature, and it is not a plain Ed25519 signature."""
    md = keys("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")
    msg = b"prehashed " + uuid.uuid4().bytes
    d = hashlib.sha512(msg).digest()
    sig = kms.sign(KeyId=md["KeyId"], Message=d, MessageType="DIGEST", SigningAlgorithm="ED25519_PH_SHA_512")["Signature"]
    assert len(sig) == 64
    raw = kms.sign(KeyId=md["KeyId"], Message=msg, MessageType="RAW", SigningAlgorithm="ED25519_PH_SHA_512")["Signature"]
    assert raw == sig
    for mt, m in (("DIGEST", d), ("RAW", msg)):
        assert kms.verify(KeyId=md["KeyId"], Message=m, MessageType=mt, Signature=sig,
                          SigningAlgorithm="ED25519_PH_SHA_512")["SignatureValid"] is True
    assert code_of(kms.verify, KeyId=md["KeyId"], Message=msg + b"x", MessageType="RAW", Signature=sig,
                   SigningAlgorithm="ED25519_PH_SHA_512") == "KMSInvalidSignatureException"
    # Not pure Ed25519 over the message, nor over its hash.
    for m in (msg, d):
        assert code_of(kms.verify, KeyId=md["KeyId"], Message=m, Signature=sig,
                       SigningAlgorithm="ED25519_SHA_512") == "KMSInvalidSignatureException"
    assert code_of(kms.sign, KeyId=md["KeyId"], Message=d[:63], MessageType="DIGEST",
                   SigningAlgorithm="ED25519_PH_SHA_512") == "ValidationException"


def _mu(public_spki: bytes, raw_len: int, msg: bytes) -> bytes:
    """FIPS 204's mu for `msg` with an empty context: SHAKE256(SHAKE256(pk, 64) || 0 || 0 || msg)."""
    pk = public_spki[-raw_len:]
    tr = hashlib.shake_256(pk).digest(64)
    return hashlib.shake_256(tr + b"\x00\x00" + msg).digest(64)


@pytest.mark.parametrize("spec, pk_len", [("ML_DSA_44", 1312), ("ML_DSA_65", 1952), ("ML_DSA_87", 2592)])
def test_ml_dsa_external_mu(kms, keys, spec, pk_len):
    """EXTERNAL_MU signs FIPS 204's mu computed by the caller: a signature of mu verifies as a
    RAW signature of the message mu was computed from, and the other way round."""
    md = keys(spec, "SIGN_VERIFY")
    pub = kms.get_public_key(KeyId=md["KeyId"])["PublicKey"]
    msg = b"signed elsewhere " + uuid.uuid4().bytes
    mu = _mu(pub, pk_len, msg)
    sig = kms.sign(KeyId=md["KeyId"], Message=mu, MessageType="EXTERNAL_MU",
                   SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]
    assert kms.verify(KeyId=md["KeyId"], Message=mu, MessageType="EXTERNAL_MU", Signature=sig,
                      SigningAlgorithm="ML_DSA_SHAKE_256")["SignatureValid"] is True
    assert kms.verify(KeyId=md["KeyId"], Message=msg, MessageType="RAW", Signature=sig,
                      SigningAlgorithm="ML_DSA_SHAKE_256")["SignatureValid"] is True
    raw_sig = kms.sign(KeyId=md["KeyId"], Message=msg, MessageType="RAW", SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]
    assert kms.verify(KeyId=md["KeyId"], Message=mu, MessageType="EXTERNAL_MU", Signature=raw_sig,
                      SigningAlgorithm="ML_DSA_SHAKE_256")["SignatureValid"] is True
    assert code_of(kms.verify, KeyId=md["KeyId"], Message=_mu(pub, pk_len, msg + b"x"), MessageType="EXTERNAL_MU",
                   Signature=sig, SigningAlgorithm="ML_DSA_SHAKE_256") == "KMSInvalidSignatureException"
    # mu is 64 bytes.
    assert code_of(kms.sign, KeyId=md["KeyId"], Message=mu[:32], MessageType="EXTERNAL_MU",
                   SigningAlgorithm="ML_DSA_SHAKE_256") == "ValidationException"


@pytest.mark.parametrize("spec", ["ML_DSA_44", "ML_DSA_65", "ML_DSA_87"])
def test_ml_dsa_sign_verify(kms, keys, spec):
    md = keys(spec, "SIGN_VERIFY")
    msg = b"post-quantum " + uuid.uuid4().bytes
    sig = kms.sign(KeyId=md["KeyId"], Message=msg, MessageType="RAW", SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]
    assert len(sig) == {"ML_DSA_44": 2420, "ML_DSA_65": 3309, "ML_DSA_87": 4627}[spec]
    assert kms.verify(KeyId=md["KeyId"], Message=msg, Signature=sig,
                      SigningAlgorithm="ML_DSA_SHAKE_256")["SignatureValid"] is True
    assert code_of(kms.verify, KeyId=md["KeyId"], Message=msg + b"x", Signature=sig,
                   SigningAlgorithm="ML_DSA_SHAKE_256") == "KMSInvalidSignatureException"
    # DIGEST is not a message type of ML-DSA (RAW or EXTERNAL_MU).
    assert code_of(kms.sign, KeyId=md["KeyId"], Message=hashlib.sha256(msg).digest(), MessageType="DIGEST",
                   SigningAlgorithm="ML_DSA_SHAKE_256") == "ValidationException"


def test_sign_message_limits(server, keys):
    md = keys("ECC_NIST_P256", "SIGN_VERIFY")
    unchecked = client(server, "kms", config=Config(parameter_validation=False))
    unchecked.sign(KeyId=md["KeyId"], Message=b"m" * 4096, SigningAlgorithm="ECDSA_SHA_256")
    assert code_of(unchecked.sign, KeyId=md["KeyId"], Message=b"m" * 4097,
                   SigningAlgorithm="ECDSA_SHA_256") == "ValidationException"


@pytest.mark.parametrize("spec,alg", [("RSA_2048", "RSASSA_PSS_SHA_256"), ("ECC_NIST_P256", "ECDSA_SHA_256"),
                                      ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"), ("ML_DSA_44", "ML_DSA_SHAKE_256")])
def test_garbage_signatures(kms, keys, spec, alg):
    md = keys(spec, "SIGN_VERIFY")
    for sig in (b"x", b"\x30" * 7, b"\x00" * 64, b"\xff" * 3000):
        status, code, _ = fails(kms.verify, KeyId=md["KeyId"], Message=b"m", Signature=sig, SigningAlgorithm=alg)
        assert (status, code) == (400, "KMSInvalidSignatureException"), sig[:4]


def test_wrong_algorithm_and_usage(kms, keys):
    ec = keys("ECC_NIST_P256", "SIGN_VERIFY")
    status, code, _ = fails(kms.sign, KeyId=ec["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_384")
    assert (status, code) == (400, "InvalidKeyUsageException")
    assert code_of(kms.sign, KeyId=ec["KeyId"], Message=b"m",
                   SigningAlgorithm="RSASSA_PSS_SHA_256") == "InvalidKeyUsageException"
    assert code_of(kms.verify, KeyId=ec["KeyId"], Message=b"m", Signature=b"x" * 64,
                   SigningAlgorithm="ECDSA_SHA_512") == "InvalidKeyUsageException"
    rsa_enc = keys("RSA_2048", "ENCRYPT_DECRYPT")
    assert code_of(kms.sign, KeyId=rsa_enc["KeyId"], Message=b"m",
                   SigningAlgorithm="RSASSA_PSS_SHA_256") == "InvalidKeyUsageException"
    sym = kms.create_key()["KeyMetadata"]
    assert code_of(kms.sign, KeyId=sym["KeyId"], Message=b"m",
                   SigningAlgorithm="ECDSA_SHA_256") == "InvalidKeyUsageException"
    # Symmetric operations on asymmetric and HMAC keys.
    for k in (ec, keys("HMAC_256", "GENERATE_VERIFY_MAC"), keys("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")):
        assert code_of(kms.encrypt, KeyId=k["KeyId"], Plaintext=b"x") == "InvalidKeyUsageException", k["KeySpec"]
        assert code_of(kms.generate_data_key, KeyId=k["KeyId"], KeySpec="AES_256") == "InvalidKeyUsageException"
        assert code_of(kms.generate_data_key_without_plaintext, KeyId=k["KeyId"],
                       KeySpec="AES_256") == "InvalidKeyUsageException"
        assert code_of(kms.generate_data_key_pair, KeyId=k["KeyId"],
                       KeyPairSpec="ECC_NIST_P256") == "InvalidKeyUsageException"
    status, code, msg = fails(kms.generate_data_key, KeyId=rsa_enc["KeyId"], KeySpec="AES_256")
    assert (code, msg) == ("InvalidKeyUsageException", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.")
    status, code, msg = fails(kms.generate_data_key, KeyId=ec["KeyId"], KeySpec="AES_256")
    assert (code, msg) == ("InvalidKeyUsageException", f"{ec['Arn']} key usage is SIGN_VERIFY which is not valid for GenerateDataKey.")
    status, code, msg = fails(kms.decrypt, KeyId=ec["KeyId"], CiphertextBlob=b"x" * 64, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert (code, msg) == ("InvalidKeyUsageException", f"{ec['Arn']} key usage is SIGN_VERIFY which is not valid for Decrypt.")
    # Encrypting under an RSA key without an RSA algorithm (AWS's words, as users report them).
    status, code, msg = fails(kms.encrypt, KeyId=rsa_enc["KeyId"], Plaintext=b"x")
    assert (status, code, msg) == (400, "InvalidKeyUsageException",
                                   "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.")
    assert code_of(kms.encrypt, KeyId=rsa_enc["KeyId"], Plaintext=b"x",
                   EncryptionAlgorithm="SYMMETRIC_DEFAULT") == "InvalidKeyUsageException"
    status, code, msg = fails(kms.encrypt, KeyId=sym["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert (code, msg) == ("InvalidKeyUsageException", "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.")
    # MAC and key agreement on other keys.
    assert code_of(kms.generate_mac, KeyId=ec["KeyId"], Message=b"m",
                   MacAlgorithm="HMAC_SHA_256") == "InvalidKeyUsageException"
    assert code_of(kms.derive_shared_secret, KeyId=ec["KeyId"], KeyAgreementAlgorithm="ECDH",
                   PublicKey=kms.get_public_key(KeyId=ec["KeyId"])["PublicKey"]) == "InvalidKeyUsageException"


def test_rsa_oaep_offline_and_round_trip(kms, keys, tmp_path):
    md = keys("RSA_2048", "ENCRYPT_DECRYPT")
    kid = md["KeyId"]
    der = tmp_path / "pub.der"
    der.write_bytes(kms.get_public_key(KeyId=kid)["PublicKey"])
    secret = b"offline secret " + uuid.uuid4().bytes
    (tmp_path / "pt").write_bytes(secret)
    for alg, md_name in (("RSAES_OAEP_SHA_256", "sha256"), ("RSAES_OAEP_SHA_1", "sha1")):
        openssl("pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", der, "-pkeyopt", "rsa_padding_mode:oaep",
                "-pkeyopt", f"rsa_oaep_md:{md_name}", "-pkeyopt", f"rsa_mgf1_md:{md_name}",
                "-in", tmp_path / "pt", "-out", tmp_path / "ct")
        ct = (tmp_path / "ct").read_bytes()
        assert len(ct) == 256
        d = kms.decrypt(KeyId=kid, CiphertextBlob=ct, EncryptionAlgorithm=alg)
        assert (d["Plaintext"], d["KeyId"], d["EncryptionAlgorithm"]) == (secret, md["Arn"], alg)
        # KMS's own Encrypt, then Decrypt.
        r = kms.encrypt(KeyId=kid, Plaintext=secret, EncryptionAlgorithm=alg)
        assert (r["KeyId"], r["EncryptionAlgorithm"]) == (md["Arn"], alg)
        assert kms.decrypt(KeyId=kid, CiphertextBlob=r["CiphertextBlob"],
                           EncryptionAlgorithm=alg)["Plaintext"] == secret
    # The other OAEP hash does not decrypt it.
    assert code_of(kms.decrypt, KeyId=kid, CiphertextBlob=ct,
                   EncryptionAlgorithm="RSAES_OAEP_SHA_256") == "InvalidCiphertextException"
    # An asymmetric ciphertext needs its KeyId.
    assert fails(kms.decrypt, CiphertextBlob=ct, EncryptionAlgorithm="RSAES_OAEP_SHA_1") == (
        400, "ValidationException", "KeyId must not be null")
    # Limits (AWS: RSA_2048 takes 214 bytes with OAEP SHA-1, 190 with OAEP SHA-256).
    kms.encrypt(KeyId=kid, Plaintext=b"a" * 214, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    kms.encrypt(KeyId=kid, Plaintext=b"a" * 190, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    status, code, msg = fails(kms.encrypt, KeyId=kid, Plaintext=b"a" * 215, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert (status, code, msg) == (400, "ValidationException",
                                   "Algorithm RSAES_OAEP_SHA_1 and key spec RSA_2048 cannot encrypt data larger than 214 bytes.")
    status, code, msg = fails(kms.encrypt, KeyId=kid, Plaintext=b"a" * 191, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert (code, msg) == ("ValidationException",
                           "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.")
    # An encryption context has nothing to bind to in RSA-OAEP.
    no_ctx = "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs."
    assert fails(kms.encrypt, KeyId=kid, Plaintext=b"a", EncryptionAlgorithm="RSAES_OAEP_SHA_256",
                 EncryptionContext={"a": "b"})[1:] == ("ValidationException", no_ctx)
    assert fails(kms.decrypt, KeyId=kid, CiphertextBlob=ct, EncryptionAlgorithm="RSAES_OAEP_SHA_1",
                 EncryptionContext={"a": "b"})[1:] == ("ValidationException", no_ctx)
    # Without an algorithm, KMS reads RSA output as a symmetric ciphertext, which it is not.
    assert code_of(kms.decrypt, KeyId=kid, CiphertextBlob=ct) == "InvalidCiphertextException"


def test_re_encrypt_with_rsa_keys(kms, keys, tmp_path):
    rsa = keys("RSA_2048", "ENCRYPT_DECRYPT")
    other = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    sym = kms.create_key()["KeyMetadata"]
    der = tmp_path / "pub.der"
    der.write_bytes(kms.get_public_key(KeyId=rsa["KeyId"])["PublicKey"])
    (tmp_path / "pt").write_bytes(b"made offline")
    openssl("pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", der, "-pkeyopt", "rsa_padding_mode:oaep",
            "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256", "-in", tmp_path / "pt",
            "-out", tmp_path / "ct")
    ct = (tmp_path / "ct").read_bytes()
    # RSA -> symmetric.
    r = kms.re_encrypt(CiphertextBlob=ct, SourceKeyId=rsa["KeyId"], SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256",
                       DestinationKeyId=sym["KeyId"], DestinationEncryptionContext={"to": "sym"})
    assert (r["SourceKeyId"], r["KeyId"]) == (rsa["Arn"], sym["Arn"])
    assert (r["SourceEncryptionAlgorithm"], r["DestinationEncryptionAlgorithm"]) == (
        "RSAES_OAEP_SHA_256", "SYMMETRIC_DEFAULT")
    assert kms.decrypt(CiphertextBlob=r["CiphertextBlob"], EncryptionContext={"to": "sym"})["Plaintext"] == b"made offline"
    # Symmetric -> RSA, and RSA -> RSA.
    r2 = kms.re_encrypt(CiphertextBlob=r["CiphertextBlob"], SourceEncryptionContext={"to": "sym"},
                        DestinationKeyId=other["KeyId"], DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert (r2["SourceKeyId"], r2["KeyId"], r2["DestinationEncryptionAlgorithm"]) == (
        sym["Arn"], other["Arn"], "RSAES_OAEP_SHA_1")
    assert kms.decrypt(KeyId=other["KeyId"], CiphertextBlob=r2["CiphertextBlob"],
                       EncryptionAlgorithm="RSAES_OAEP_SHA_1")["Plaintext"] == b"made offline"
    r3 = kms.re_encrypt(CiphertextBlob=r2["CiphertextBlob"], SourceKeyId=other["Arn"],
                        SourceEncryptionAlgorithm="RSAES_OAEP_SHA_1", DestinationKeyId=rsa["KeyId"],
                        DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert kms.decrypt(KeyId=rsa["KeyId"], CiphertextBlob=r3["CiphertextBlob"],
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"made offline"
    # An RSA destination needs an RSA algorithm; a signing key is no destination.
    assert code_of(kms.re_encrypt, CiphertextBlob=r["CiphertextBlob"], SourceEncryptionContext={"to": "sym"},
                   DestinationKeyId=rsa["KeyId"]) == "InvalidKeyUsageException"
    assert code_of(kms.re_encrypt, CiphertextBlob=r["CiphertextBlob"], SourceEncryptionContext={"to": "sym"},
                   DestinationKeyId=keys("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"]) == "InvalidKeyUsageException"


def test_rsa_with_the_cli(server, kms, keys, tmp_path):
    md = keys("RSA_2048", "SIGN_VERIFY")
    msg = tmp_path / "msg"
    msg.write_bytes(b"signed by the cli")
    out = aws(server, "kms", "sign", "--key-id", md["KeyId"], "--message", f"fileb://{msg}",
              "--message-type", "RAW", "--signing-algorithm", "RSASSA_PSS_SHA_256")
    sig = tmp_path / "sig"
    sig.write_bytes(base64.b64decode(out["Signature"]))
    v = aws(server, "kms", "verify", "--key-id", md["KeyId"], "--message", f"fileb://{msg}", "--message-type",
            "RAW", "--signature", f"fileb://{sig}", "--signing-algorithm", "RSASSA_PSS_SHA_256")
    assert v["SignatureValid"] is True
    pub = aws(server, "kms", "get-public-key", "--key-id", md["KeyId"])
    pem = pem_of(base64.b64decode(pub["PublicKey"]), tmp_path, "pub")
    assert b"Verified OK" in openssl("dgst", "-sha256", "-verify", pem, "-sigopt", "rsa_padding_mode:pss",
                                     "-sigopt", "rsa_pss_saltlen:-1", "-signature", sig, msg)
    other = tmp_path / "other"
    other.write_bytes(b"not what was signed")
    bad = aws(server, "kms", "verify", "--key-id", md["KeyId"], "--message", f"fileb://{other}",
              "--signature", f"fileb://{sig}", "--signing-algorithm", "RSASSA_PSS_SHA_256", check=False)
    assert bad.returncode != 0 and "KMSInvalidSignatureException" in bad.stderr


def test_ml_kem_encapsulate_decapsulate(kms, keys):
    md = keys("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")
    e = kms.encapsulate(KeyId=md["KeyId"], EncapsulationAlgorithm="ML_KEM")
    assert (e["KeyId"], e["EncapsulationAlgorithm"]) == (md["Arn"], "ML_KEM")
    assert len(e["SharedSecret"]) == 32 and len(e["SharedSecretCiphertextBlob"]) == 1088
    d = kms.decapsulate(KeyId=md["KeyId"], SharedSecretCiphertextBlob=e["SharedSecretCiphertextBlob"],
                        EncapsulationAlgorithm="ML_KEM")
    assert d["SharedSecret"] == e["SharedSecret"]
    e2 = kms.encapsulate(KeyId=md["KeyId"], EncapsulationAlgorithm="ML_KEM")
    assert e2["SharedSecret"] != e["SharedSecret"]
    # ML-KEM's implicit rejection: a changed ciphertext decapsulates to another secret.
    bad = bytearray(e["SharedSecretCiphertextBlob"])
    bad[10] ^= 1
    try:
        other = kms.decapsulate(KeyId=md["KeyId"], SharedSecretCiphertextBlob=bytes(bad),
                                EncapsulationAlgorithm="ML_KEM")["SharedSecret"]
        assert other != e["SharedSecret"]
    except ClientError as exc:
        assert error_of(exc)[1] == "InvalidCiphertextException"
    assert code_of(kms.decapsulate, KeyId=md["KeyId"], SharedSecretCiphertextBlob=b"short",
                   EncapsulationAlgorithm="ML_KEM") == "InvalidCiphertextException"


def test_hmac(kms, keys):
    md = keys("HMAC_256", "GENERATE_VERIFY_MAC")
    kid = md["KeyId"]
    msg = b"authenticate me"
    r = kms.generate_mac(KeyId=kid, Message=msg, MacAlgorithm="HMAC_SHA_256")
    assert (r["KeyId"], r["MacAlgorithm"], len(r["Mac"])) == (md["Arn"], "HMAC_SHA_256", 32)
    assert kms.generate_mac(KeyId=kid, Message=msg, MacAlgorithm="HMAC_SHA_256")["Mac"] == r["Mac"]
    v = kms.verify_mac(KeyId=kid, Message=msg, MacAlgorithm="HMAC_SHA_256", Mac=r["Mac"])
    assert (v["MacValid"], v["KeyId"]) == (True, md["Arn"])
    bad = bytearray(r["Mac"])
    bad[0] ^= 1
    status, code, _ = fails(kms.verify_mac, KeyId=kid, Message=msg, MacAlgorithm="HMAC_SHA_256", Mac=bytes(bad))
    assert (status, code) == (400, "KMSInvalidMacException")
    assert code_of(kms.verify_mac, KeyId=kid, Message=msg + b"!", MacAlgorithm="HMAC_SHA_256",
                   Mac=r["Mac"]) == "KMSInvalidMacException"
    assert code_of(kms.generate_mac, KeyId=kid, Message=msg, MacAlgorithm="HMAC_SHA_512") == "InvalidKeyUsageException"
    # Another HMAC key gives another MAC.
    other = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    assert kms.generate_mac(KeyId=other["KeyId"], Message=msg, MacAlgorithm="HMAC_SHA_256")["Mac"] != r["Mac"]


@pytest.mark.parametrize("spec,curve,size", [("ECC_NIST_P256", "P-256", 32), ("ECC_NIST_P384", "P-384", 48),
                                             ("ECC_NIST_P521", "P-521", 66)])
def test_derive_shared_secret_with_openssl_peer(kms, keys, tmp_path, spec, curve, size):
    md = keys(spec, "KEY_AGREEMENT")
    peer = tmp_path / "peer.pem"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}", "-out", peer)
    peer_pub = openssl("pkey", "-in", peer, "-pubout", "-outform", "DER")
    r = kms.derive_shared_secret(KeyId=md["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=peer_pub)
    assert (r["KeyId"], r["KeyAgreementAlgorithm"], r["KeyOrigin"]) == (md["Arn"], "ECDH", "AWS_KMS")
    kms_pem = pem_of(kms.get_public_key(KeyId=md["KeyId"])["PublicKey"], tmp_path, "kms")
    theirs = openssl("pkeyutl", "-derive", "-inkey", peer, "-peerkey", kms_pem)
    assert r["SharedSecret"] == theirs and len(theirs) == size
    # A public key on another curve, and garbage.
    other = tmp_path / "other.pem"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
            f"ec_paramgen_curve:{'P-256' if curve != 'P-256' else 'P-384'}", "-out", other)
    wrong = openssl("pkey", "-in", other, "-pubout", "-outform", "DER")
    assert code_of(kms.derive_shared_secret, KeyId=md["KeyId"], KeyAgreementAlgorithm="ECDH",
                   PublicKey=wrong) == "ValidationException"
    assert code_of(kms.derive_shared_secret, KeyId=md["KeyId"], KeyAgreementAlgorithm="ECDH",
                   PublicKey=b"garbage") == "ValidationException"


@pytest.mark.parametrize("pair_spec", ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519",
                                       "RSA_2048"])
def test_generate_data_key_pair(kms, tmp_path, pair_spec):
    sym = kms.create_key()["KeyMetadata"]
    ctx = {"purpose": "pair"}
    r = kms.generate_data_key_pair(KeyId=sym["KeyId"], KeyPairSpec=pair_spec, EncryptionContext=ctx)
    assert (r["KeyId"], r["KeyPairSpec"]) == (sym["Arn"], pair_spec)
    d = kms.decrypt(CiphertextBlob=r["PrivateKeyCiphertextBlob"], EncryptionContext=ctx)
    assert d["Plaintext"] == r["PrivateKeyPlaintext"]
    (tmp_path / "priv.der").write_bytes(r["PrivateKeyPlaintext"])
    pub = openssl("pkey", "-inform", "DER", "-in", tmp_path / "priv.der", "-pubout", "-outform", "DER")
    assert pub == r["PublicKey"]
    w = kms.generate_data_key_pair_without_plaintext(KeyId=sym["KeyId"], KeyPairSpec=pair_spec)
    assert "PrivateKeyPlaintext" not in w
    priv = kms.decrypt(CiphertextBlob=w["PrivateKeyCiphertextBlob"])["Plaintext"]
    (tmp_path / "priv2.der").write_bytes(priv)
    assert openssl("pkey", "-inform", "DER", "-in", tmp_path / "priv2.der", "-pubout", "-outform", "DER") == w["PublicKey"]
    assert w["PublicKey"] != r["PublicKey"]


@pytest.mark.parametrize("spec, arc, ek_len", [("ML_KEM_512", 1, 800), ("ML_KEM_768", 2, 1184), ("ML_KEM_1024", 3, 1568)])
def test_ml_kem_data_key_pair_is_pkcs8_seed(kms, spec, arc, ek_len):
    """As AWS: the private key is PKCS#8 holding only the 64-byte seed (RFC 9935), for every
    spec; the encrypted copy decrypts to the same bytes."""
    sym = kms.create_key()["KeyMetadata"]
    r = kms.generate_data_key_pair(KeyId=sym["KeyId"], KeyPairSpec=spec, EncryptionContext={"k": "v"})
    pub = r["PublicKey"]
    assert len(pub) == ek_len + 22 and pub[:4] == b"\x30\x82" + (ek_len + 18).to_bytes(2, "big")
    priv = r["PrivateKeyPlaintext"]
    # PrivateKeyInfo: version 0, AlgorithmIdentifier id-alg-ml-kem-*, OCTET STRING { [0] seed }.
    head = bytes.fromhex("3054020100300b06096086480165030404") + bytes([arc]) + bytes.fromhex("04428040")
    assert len(priv) == 86 and priv.startswith(head)
    assert kms.decrypt(CiphertextBlob=r["PrivateKeyCiphertextBlob"], EncryptionContext={"k": "v"})["Plaintext"] == priv
    other = kms.generate_data_key_pair(KeyId=sym["KeyId"], KeyPairSpec=spec)
    assert other["PrivateKeyPlaintext"][len(head):] != priv[len(head):]


# --------------------------------------------------------------------------------------------
# 2. Key states


def test_disabled_key(kms, server):
    sym = kms.create_key()["KeyMetadata"]
    ec = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    for k in (sym, ec):
        kms.disable_key(KeyId=k["KeyId"])
    status, code, msg = fails(kms.encrypt, KeyId=sym["KeyId"], Plaintext=b"x")
    assert (status, code, msg) == (400, "DisabledException", f"{sym['Arn']} is disabled.")
    status, code, msg = fails(kms.sign, KeyId=ec["KeyId"], Message=b"x", SigningAlgorithm="ECDSA_SHA_256")
    assert (code, msg) == ("DisabledException", f"{ec['Arn']} is disabled.")
    assert code_of(kms.get_public_key, KeyId=ec["KeyId"]) == "DisabledException"
    # Disabled keys cannot get grants or rotation changes (DisabledException), but keep tags.
    assert code_of(kms.create_grant, KeyId=sym["KeyId"], GranteePrincipal=f"arn:aws:iam::{server.account_id}:root",
                   Operations=["Encrypt"]) == "DisabledException"
    assert code_of(kms.enable_key_rotation, KeyId=sym["KeyId"]) == "DisabledException"
    kms.tag_resource(KeyId=sym["KeyId"], Tags=[{"TagKey": "k", "TagValue": "v"}])
    kms.enable_key(KeyId=sym["KeyId"])
    kms.encrypt(KeyId=sym["KeyId"], Plaintext=b"x")


def test_key_state_table(kms, server, admin_arn):
    """AWS's key-state table for the Disabled and PendingDeletion states: management
    operations work, cryptographic ones and grant/rotation changes do not."""
    root = f"arn:aws:iam::{server.account_id}:root"
    for state in ("Disabled", "PendingDeletion"):
        md = kms.create_key()["KeyMetadata"]
        kid, arn = md["KeyId"], md["Arn"]
        ct = kms.encrypt(KeyId=kid, Plaintext=b"x")["CiphertextBlob"]
        grant = kms.create_grant(KeyId=kid, GranteePrincipal=root, RetiringPrincipal=admin_arn, Operations=["Encrypt"])
        grant2 = kms.create_grant(KeyId=kid, GranteePrincipal=root, Operations=["Decrypt"])
        alias = uniq()
        kms.create_alias(AliasName=alias, TargetKeyId=kid)
        if state == "Disabled":
            kms.disable_key(KeyId=kid)
            expected = ("DisabledException", f"{arn} is disabled.")
        else:
            kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
            expected = ("KMSInvalidStateException", f"{arn} is pending deletion.")
        # Work in both states.
        kms.describe_key(KeyId=kid)
        kms.get_key_policy(KeyId=kid, PolicyName="default")
        kms.list_key_policies(KeyId=kid)
        kms.list_resource_tags(KeyId=kid)
        kms.list_grants(KeyId=kid)
        kms.get_key_rotation_status(KeyId=kid)
        kms.list_aliases(KeyId=kid)
        kms.revoke_grant(KeyId=kid, GrantId=grant2["GrantId"])
        kms.delete_alias(AliasName=alias)
        # Cryptographic operations.
        for call, kw in ((kms.encrypt, {"KeyId": kid, "Plaintext": b"x"}),
                         (kms.decrypt, {"CiphertextBlob": ct}),
                         (kms.re_encrypt, {"CiphertextBlob": ct, "DestinationKeyId": kid}),
                         (kms.generate_data_key, {"KeyId": kid, "NumberOfBytes": 8}),
                         (kms.generate_data_key_without_plaintext, {"KeyId": kid, "NumberOfBytes": 8}),
                         (kms.generate_data_key_pair, {"KeyId": kid, "KeyPairSpec": "ECC_NIST_P256"}),
                         (kms.create_grant, {"KeyId": kid, "GranteePrincipal": root, "Operations": ["Encrypt"]}),
                         (kms.enable_key_rotation, {"KeyId": kid}),
                         (kms.disable_key_rotation, {"KeyId": kid}),
                         (kms.rotate_key_on_demand, {"KeyId": kid})):
            status, code, msg = fails(call, **kw)
            assert (status, code, msg) == (400, *expected), (state, call)
        if state == "Disabled":
            # Management works on a disabled key.
            kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "t", "TagValue": "v"}])
            kms.untag_resource(KeyId=kid, TagKeys=["t"])
            kms.update_key_description(KeyId=kid, Description="still manageable")
            kms.create_alias(AliasName=uniq(), TargetKeyId=kid)
            kms.put_key_policy(KeyId=kid, PolicyName="default",
                               Policy=kms.get_key_policy(KeyId=kid, PolicyName="default")["Policy"])
            kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        kms.retire_grant(GrantToken=grant["GrantToken"])
        assert kms.list_grants(KeyId=kid)["Grants"] == []


def test_schedule_key_deletion(kms, server):
    md = kms.create_key()["KeyMetadata"]
    kid, arn = md["KeyId"], md["Arn"]
    ct = kms.encrypt(KeyId=kid, Plaintext=b"doomed")["CiphertextBlob"]
    unchecked = client(server, "kms", config=Config(parameter_validation=False))
    for bad in (6, 31):
        status, code, _ = fails(unchecked.schedule_key_deletion, KeyId=kid, PendingWindowInDays=bad)
        assert (status, code) == (400, "ValidationException")
    before = time.time()
    r = kms.schedule_key_deletion(KeyId=kid)
    assert (r["KeyId"], r["KeyState"], r["PendingWindowInDays"]) == (arn, "PendingDeletion", 30)
    when = r["DeletionDate"].timestamp()
    assert before + 30 * DAY - 5 <= when <= time.time() + 30 * DAY + 5
    d = kms.describe_key(KeyId=kid)["KeyMetadata"]
    assert (d["KeyState"], d["Enabled"], d["PendingDeletionWindowInDays"]) == ("PendingDeletion", False, 30)
    assert d["DeletionDate"] == r["DeletionDate"]
    pending = f"{arn} is pending deletion."
    for call, kw in ((kms.encrypt, {"KeyId": kid, "Plaintext": b"x"}), (kms.decrypt, {"CiphertextBlob": ct}),
                     (kms.generate_data_key, {"KeyId": kid, "KeySpec": "AES_256"}),
                     (kms.enable_key, {"KeyId": kid}), (kms.disable_key, {"KeyId": kid}),
                     (kms.schedule_key_deletion, {"KeyId": kid}),
                     (kms.tag_resource, {"KeyId": kid, "Tags": [{"TagKey": "a", "TagValue": "b"}]}),
                     (kms.update_key_description, {"KeyId": kid, "Description": "x"}),
                     (kms.enable_key_rotation, {"KeyId": kid}),
                     (kms.create_alias, {"AliasName": uniq(), "TargetKeyId": kid})):
        status, code, msg = fails(call, **kw)
        assert (status, code, msg) == (400, "KMSInvalidStateException", pending), call
    # Still readable and its policy still manageable while pending deletion.
    assert kms.get_key_rotation_status(KeyId=kid)["KeyRotationEnabled"] is False
    kms.put_key_policy(KeyId=kid, PolicyName="default",
                       Policy=kms.get_key_policy(KeyId=kid, PolicyName="default")["Policy"])
    assert kms.list_resource_tags(KeyId=kid)["Tags"] == []
    # Cancelling returns the key to Disabled.
    assert kms.cancel_key_deletion(KeyId=kid)["KeyId"] == arn
    d = kms.describe_key(KeyId=kid)["KeyMetadata"]
    assert d["KeyState"] == "Disabled" and "DeletionDate" not in d and "PendingDeletionWindowInDays" not in d
    status, code, msg = fails(kms.cancel_key_deletion, KeyId=kid)
    assert (code, msg) == ("KMSInvalidStateException", f"{arn} is not pending deletion.")
    kms.enable_key(KeyId=kid)
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"doomed"
    r = kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
    assert r["PendingWindowInDays"] == 7
    assert abs(r["DeletionDate"].timestamp() - (time.time() + 7 * DAY)) < 60


def test_rotation_survives_pending_deletion(kms):
    md = kms.create_key()["KeyMetadata"]
    kms.enable_key_rotation(KeyId=md["KeyId"], RotationPeriodInDays=100)
    kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
    assert kms.get_key_rotation_status(KeyId=md["KeyId"])["KeyRotationEnabled"] is False
    kms.cancel_key_deletion(KeyId=md["KeyId"])
    r = kms.get_key_rotation_status(KeyId=md["KeyId"])
    assert (r["KeyRotationEnabled"], r["RotationPeriodInDays"]) == (True, 100)


def test_deletion_date_survives_restart(spawn, tmp_path):
    data = tmp_path / "data"
    srv = spawn("kms-restart", data_dir=data)
    k = client(srv, "kms")
    md = k.create_key()["KeyMetadata"]
    sched = k.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=9)
    srv.stop()
    srv2 = spawn("kms-restart-2", data_dir=data)
    d = client(srv2, "kms").describe_key(KeyId=md["KeyId"])["KeyMetadata"]
    assert (d["KeyState"], d["PendingDeletionWindowInDays"]) == ("PendingDeletion", 9)
    assert d["DeletionDate"] == sched["DeletionDate"]


def _edit_key(data_dir: Path, account: str, key_id: str, edit) -> None:
    """Changes a stopped server's stored key record (to move its dates into the past)."""
    con = sqlite3.connect(data_dir / "rampart.db")
    try:
        k = f"{account}/us-east-1/{key_id}"
        (value,) = con.execute("SELECT value FROM kv WHERE coll = 'kms_key' AND key = ?", (k,)).fetchone()
        rec = json.loads(value)
        edit(rec)
        con.execute("UPDATE kv SET value = ? WHERE coll = 'kms_key' AND key = ?",
                    (json.dumps(rec).encode() if isinstance(value, bytes) else json.dumps(rec), k))
        con.commit()
    finally:
        con.close()


def test_scheduler_deletes_and_rotates_after_restart(spawn, tmp_path):
    """Deletion at the end of the waiting period and automatic rotation are carried out by the
    scheduler, which runs when the server starts: dates that passed while it was down count."""
    data = tmp_path / "data"
    srv = spawn("kms-sched", data_dir=data)
    k = client(srv, "kms")
    doomed = k.create_key()["KeyMetadata"]
    alias = uniq()
    k.create_alias(AliasName=alias, TargetKeyId=doomed["KeyId"])
    k.create_grant(KeyId=doomed["KeyId"], GranteePrincipal=f"arn:aws:iam::{srv.account_id}:root",
                   Operations=["Encrypt"])
    k.schedule_key_deletion(KeyId=doomed["KeyId"], PendingWindowInDays=7)
    rotating = k.create_key()["KeyMetadata"]
    k.enable_key_rotation(KeyId=rotating["KeyId"], RotationPeriodInDays=90)
    ct = k.encrypt(KeyId=rotating["KeyId"], Plaintext=b"old material")["CiphertextBlob"]
    kept = k.create_key()["KeyMetadata"]
    k.schedule_key_deletion(KeyId=kept["KeyId"], PendingWindowInDays=30)
    account = srv.account_id
    srv.stop()
    past = time.time() - 60
    _edit_key(data, account, doomed["KeyId"], lambda r: r.update(deletion_date=past))
    _edit_key(data, account, rotating["KeyId"], lambda r: r["rotation"].update(next=past))
    srv2 = spawn("kms-sched-2", data_dir=data)
    k2 = client(srv2, "kms")
    deadline = time.time() + 15
    while True:
        try:
            k2.describe_key(KeyId=doomed["KeyId"])
        except ClientError as e:
            assert error_of(e)[1] == "NotFoundException"
            break
        assert time.time() < deadline, "the key was not deleted after its deletion date"
        time.sleep(0.2)
    assert code_of(k2.describe_key, KeyId=alias) == "NotFoundException"
    assert alias not in {a["AliasName"] for a in k2.list_aliases()["Aliases"]}
    assert doomed["KeyId"] not in {x["KeyId"] for x in k2.list_keys()["Keys"]}
    assert k2.describe_key(KeyId=kept["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    while True:
        rot = k2.list_key_rotations(KeyId=rotating["KeyId"])["Rotations"]
        if rot:
            break
        assert time.time() < deadline, "automatic rotation did not happen"
        time.sleep(0.2)
    assert [r["RotationType"] for r in rot] == ["AUTOMATIC"]
    status = k2.get_key_rotation_status(KeyId=rotating["KeyId"])
    assert abs(status["NextRotationDate"].timestamp() - (time.time() + 90 * DAY)) < 300
    assert k2.decrypt(CiphertextBlob=ct)["Plaintext"] == b"old material"
    assert k2.decrypt(CiphertextBlob=k2.encrypt(KeyId=rotating["KeyId"], Plaintext=b"n")["CiphertextBlob"])[
        "KeyMaterialId"] == rot[0]["KeyMaterialId"]


def test_scheduled_deletion_with_the_cli(server):
    md = aws(server, "kms", "create-key")["KeyMetadata"]
    out = aws(server, "kms", "schedule-key-deletion", "--key-id", md["KeyId"], "--pending-window-in-days", "7")
    assert out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    bad = aws(server, "kms", "encrypt", "--key-id", md["KeyId"], "--plaintext", "fileb:///dev/null", check=False)
    assert bad.returncode != 0
    res = aws(server, "kms", "enable-key", "--key-id", md["KeyId"], check=False)
    assert res.returncode != 0 and "KMSInvalidStateException" in res.stderr and "is pending deletion." in res.stderr
    aws(server, "kms", "cancel-key-deletion", "--key-id", md["KeyId"])
    assert aws(server, "kms", "describe-key", "--key-id", md["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"


# --------------------------------------------------------------------------------------------
# 3. Rotation


def test_rotation_settings(kms, server):
    md = kms.create_key()["KeyMetadata"]
    kid = md["KeyId"]
    r = kms.get_key_rotation_status(KeyId=kid)
    assert r["KeyRotationEnabled"] is False and "RotationPeriodInDays" not in r
    # botocore checks the bounds itself; a client without that check reaches the server.
    unchecked = client(server, "kms", config=Config(parameter_validation=False))
    for bad in (89, 2561):
        status, code, _ = fails(unchecked.enable_key_rotation, KeyId=kid, RotationPeriodInDays=bad)
        assert (status, code) == (400, "ValidationException")
    kms.enable_key_rotation(KeyId=kid)
    r = kms.get_key_rotation_status(KeyId=kid)
    assert (r["KeyRotationEnabled"], r["RotationPeriodInDays"], r["KeyId"]) == (True, 365, md["Arn"])
    assert abs(r["NextRotationDate"].timestamp() - (time.time() + 365 * DAY)) < 120
    for days in (90, 2560):
        kms.enable_key_rotation(KeyId=kid, RotationPeriodInDays=days)
        assert kms.get_key_rotation_status(KeyId=kid)["RotationPeriodInDays"] == days
    kms.disable_key_rotation(KeyId=kid)
    r = kms.get_key_rotation_status(KeyId=kid)
    assert r["KeyRotationEnabled"] is False and "NextRotationDate" not in r


def test_rotate_on_demand(kms):
    md = kms.create_key()["KeyMetadata"]
    kid = md["KeyId"]
    first = md["CurrentKeyMaterialId"]
    old = kms.encrypt(KeyId=kid, Plaintext=b"before", EncryptionContext={"v": "1"})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=old, EncryptionContext={"v": "1"})["KeyMaterialId"] == first
    assert kms.list_key_rotations(KeyId=kid)["Rotations"] == []
    assert kms.rotate_key_on_demand(KeyId=kid)["KeyId"] == md["Arn"]
    now_id = kms.describe_key(KeyId=kid)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert now_id != first
    assert kms.decrypt(CiphertextBlob=old, EncryptionContext={"v": "1"})["Plaintext"] == b"before"
    new = kms.encrypt(KeyId=kid, Plaintext=b"after")["CiphertextBlob"]
    d = kms.decrypt(CiphertextBlob=new)
    assert (d["Plaintext"], d["KeyMaterialId"]) == (b"after", now_id)
    assert kms.generate_data_key(KeyId=kid, KeySpec="AES_256")["KeyMaterialId"] == now_id
    kms.rotate_key_on_demand(KeyId=kid)
    rot = kms.list_key_rotations(KeyId=kid)["Rotations"]
    assert [r["RotationType"] for r in rot] == ["ON_DEMAND", "ON_DEMAND"]
    assert rot[0]["KeyMaterialId"] == now_id and rot[0]["KeyMaterialState"] == "NON_CURRENT"
    assert rot[1]["KeyMaterialState"] == "CURRENT"
    assert all(r["KeyId"] == md["Arn"] and "RotationDate" in r for r in rot)
    page = kms.list_key_rotations(KeyId=kid, Limit=1)
    assert page["Truncated"] is True and len(page["Rotations"]) == 1
    rest = kms.list_key_rotations(KeyId=kid, Limit=1, Marker=page["NextMarker"])
    assert rest["Truncated"] is False and rest["Rotations"][0]["KeyMaterialId"] == rot[1]["KeyMaterialId"]
    everything = kms.list_key_rotations(KeyId=kid, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert everything[0]["KeyMaterialId"] == first and len(everything) == 3
    # Both old blobs still decrypt.
    assert kms.decrypt(CiphertextBlob=old, EncryptionContext={"v": "1"})["Plaintext"] == b"before"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"after"


def test_on_demand_rotation_limit(kms):
    kid = kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(25):
        kms.rotate_key_on_demand(KeyId=kid)
    status, code, _ = fails(kms.rotate_key_on_demand, KeyId=kid)
    assert (status, code) == (400, "LimitExceededException")
    assert len(kms.list_key_rotations(KeyId=kid)["Rotations"]) == 25


def test_rotation_of_asymmetric_and_hmac_keys(kms, keys):
    for k in (keys("ECC_NIST_P256", "SIGN_VERIFY"), keys("HMAC_256", "GENERATE_VERIFY_MAC")):
        # Their rotation status is false (as AWS answers, e.g. to Terraform), not an error.
        r = kms.get_key_rotation_status(KeyId=k["KeyId"])
        assert (r["KeyRotationEnabled"], r["KeyId"]) == (False, k["Arn"])
        for call in (kms.enable_key_rotation, kms.rotate_key_on_demand):
            status, code, _ = fails(call, KeyId=k["KeyId"])
            assert (status, code) == (400, "UnsupportedOperationException"), (call, k["KeySpec"])


# --------------------------------------------------------------------------------------------
# 4. Tags


def test_tags(kms):
    md = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "sec"}, {"TagKey": "env", "TagValue": "dev"}])["KeyMetadata"]
    kid = md["KeyId"]
    tags = kms.list_resource_tags(KeyId=kid)
    assert sorted((t["TagKey"], t["TagValue"]) for t in tags["Tags"]) == [("env", "dev"), ("team", "sec")]
    assert tags["Truncated"] is False
    kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "team", "TagValue": "ops"}, {"TagKey": "a", "TagValue": "1"},
                                      {"TagKey": "b", "TagValue": "2"}])
    seen, marker = [], None
    while True:
        kw = {"Limit": 2, **({"Marker": marker} if marker else {})}
        page = kms.list_resource_tags(KeyId=kid, **kw)
        assert len(page["Tags"]) <= 2
        seen += [(t["TagKey"], t["TagValue"]) for t in page["Tags"]]
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert sorted(seen) == [("a", "1"), ("b", "2"), ("env", "dev"), ("team", "ops")]
    kms.untag_resource(KeyId=kid, TagKeys=["a", "env", "not-there"])
    assert sorted(t["TagKey"] for t in kms.list_resource_tags(KeyId=kid)["Tags"]) == ["b", "team"]
    status, code, _ = fails(kms.tag_resource, KeyId=kid, Tags=[{"TagKey": "aws:owner", "TagValue": "x"}])
    assert (status, code) == (400, "TagException")
    assert code_of(kms.create_key, Tags=[{"TagKey": "aws:x", "TagValue": "y"}]) == "TagException"


def test_tags_with_the_cli(server):
    md = aws(server, "kms", "create-key", "--tags", "TagKey=owner,TagValue=cli")["KeyMetadata"]
    aws(server, "kms", "tag-resource", "--key-id", md["KeyId"], "--tags", "TagKey=stage,TagValue=test")
    tags = aws(server, "kms", "list-resource-tags", "--key-id", md["KeyId"])["Tags"]
    assert {t["TagKey"]: t["TagValue"] for t in tags} == {"owner": "cli", "stage": "test"}


# --------------------------------------------------------------------------------------------
# 5. Key policies on the request path


def test_policy_without_delegation_denies_iam_users(server, kms, admin_arn):
    arn, user = user_with(server, KMS_ALL)
    open_key = kms.create_key()["KeyMetadata"]
    assert user.encrypt(KeyId=open_key["KeyId"], Plaintext=b"x")["KeyId"] == open_key["Arn"]
    # A key whose policy names only the administrator: the user's IAM policy does not count.
    closed = kms.create_key(Policy=key_policy(allow_principal(admin_arn, sid="AdminOnly")))["KeyMetadata"]
    with pytest.raises(ClientError) as e:
        user.encrypt(KeyId=closed["KeyId"], Plaintext=b"x")
    status, code, msg = error_of(e.value)
    assert (status, code) == (400, "AccessDeniedException")
    assert msg == (f"User: {arn} is not authorized to perform: kms:Encrypt on resource: {closed['Arn']} "
                   f"because no resource-based policy allows the kms:Encrypt action")
    ev = wait_for_event(server, request_id_of(e.value))
    assert ev["errorCode"] == "AccessDeniedException"
    auth = ev["additionalEventData"]["authorization"]
    assert auth["decision"] in ("ImplicitDeny", "ExplicitDeny") and auth["resource"] == closed["Arn"]
    assert auth["action"] == "kms:Encrypt"
    # The administrator the policy names can still use it; PutKeyPolicy with the bypass flag
    # closes the open key the same way.
    kms.encrypt(KeyId=closed["KeyId"], Plaintext=b"x")
    kms.put_key_policy(KeyId=open_key["KeyId"], PolicyName="default", BypassPolicyLockoutSafetyCheck=True,
                       Policy=key_policy(allow_principal(admin_arn, sid="AdminOnly")))
    assert code_of(user.encrypt, KeyId=open_key["KeyId"], Plaintext=b"x") == "AccessDeniedException"
    assert code_of(user.describe_key, KeyId=open_key["KeyId"]) == "AccessDeniedException"


def test_iam_policy_scoped_to_one_key(server, kms):
    a = kms.create_key()["KeyMetadata"]
    b = kms.create_key()["KeyMetadata"]
    arn, user = user_with(server, {"Version": "2012-10-17", "Statement": [
        {"Sid": "OneKey", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": a["Arn"]}]})
    ct = user.encrypt(KeyId=a["KeyId"], Plaintext=b"a")["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=ct)["Plaintext"] == b"a"
    status, code, msg = fails(user.encrypt, KeyId=b["KeyId"], Plaintext=b"b")
    assert (status, code) == (400, "AccessDeniedException")
    assert msg == (f"User: {arn} is not authorized to perform: kms:Encrypt on resource: {b['Arn']} "
                   f"because no identity-based policy allows the kms:Encrypt action")
    # By alias too: the key behind the alias is what is authorized.
    alias = uniq()
    kms.create_alias(AliasName=alias, TargetKeyId=b["KeyId"])
    assert code_of(user.encrypt, KeyId=alias, Plaintext=b"b") == "AccessDeniedException"
    kms.update_alias(AliasName=alias, TargetKeyId=a["KeyId"])
    assert user.encrypt(KeyId=alias, Plaintext=b"a")["KeyId"] == a["Arn"]


def test_resource_tag_and_alias_conditions(server, kms):
    blue = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "blue"}])["KeyMetadata"]
    red = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "red"}])["KeyMetadata"]
    _, user = user_with(server, {"Version": "2012-10-17", "Statement": [
        {"Sid": "BlueKeys", "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}}},
        {"Sid": "AppAliases", "Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": "*",
         "Condition": {"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/app-*"}}},
        {"Sid": "ByAlias", "Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*",
         "Condition": {"StringLike": {"kms:RequestAlias": "alias/app-*"}}}]})
    user.encrypt(KeyId=blue["KeyId"], Plaintext=b"x")
    assert code_of(user.encrypt, KeyId=red["KeyId"], Plaintext=b"x") == "AccessDeniedException"
    # Retagging changes the decision at once.
    kms.tag_resource(KeyId=red["KeyId"], Tags=[{"TagKey": "team", "TagValue": "blue"}])
    user.encrypt(KeyId=red["KeyId"], Plaintext=b"x")
    assert code_of(user.generate_data_key, KeyId=blue["KeyId"], KeySpec="AES_256") == "AccessDeniedException"
    alias = uniq("alias/app")
    kms.create_alias(AliasName=alias, TargetKeyId=blue["KeyId"])
    assert len(user.generate_data_key(KeyId=blue["KeyId"], KeySpec="AES_256")["Plaintext"]) == 32
    assert user.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == blue["KeyId"]
    assert code_of(user.describe_key, KeyId=blue["KeyId"]) == "AccessDeniedException"


def test_numeric_kms_condition(server, kms):
    _, user = user_with(server, {"Version": "2012-10-17", "Statement": [
        {"Sid": "LongWindow", "Effect": "Allow", "Action": ["kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
         "Resource": "*",
         "Condition": {"NumericGreaterThanEquals": {"kms:ScheduleKeyDeletionPendingWindowInDays": "20"}}}]})
    md = kms.create_key()["KeyMetadata"]
    assert code_of(user.schedule_key_deletion, KeyId=md["KeyId"], PendingWindowInDays=7) == "AccessDeniedException"
    assert user.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=25)["PendingWindowInDays"] == 25


def test_key_policy_naming_a_user_needs_no_iam_policy(server, kms, admin_arn):
    arn, user = user_with(server)
    md = kms.create_key(Policy=key_policy(
        allow_principal(admin_arn, sid="Admin"),
        allow_principal(arn, ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], sid="User")))["KeyMetadata"]
    ct = user.encrypt(KeyId=md["KeyId"], Plaintext=b"direct")["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=ct)["Plaintext"] == b"direct"
    assert user.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyId"] == md["KeyId"]
    status, code, msg = fails(user.generate_data_key, KeyId=md["KeyId"], KeySpec="AES_256")
    assert code == "AccessDeniedException" and "kms:GenerateDataKey" in msg
    # Nor may the user use a key with the default policy (IAM decides, and it has no policy).
    other = kms.create_key()["KeyMetadata"]
    assert code_of(user.encrypt, KeyId=other["KeyId"], Plaintext=b"x") == "AccessDeniedException"


def test_encryption_context_condition(server, kms, admin_arn):
    arn, user = user_with(server)
    md = kms.create_key(Policy=key_policy(
        allow_principal(admin_arn, sid="Admin"),
        allow_principal(arn, ["kms:Encrypt", "kms:Decrypt"], sid="TenantA",
                        Condition={"StringEquals": {"kms:EncryptionContext:tenant": "a"}})))["KeyMetadata"]
    ct = user.encrypt(KeyId=md["KeyId"], Plaintext=b"t", EncryptionContext={"tenant": "a"})["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=ct, EncryptionContext={"tenant": "a"})["Plaintext"] == b"t"
    for ctx in ({"tenant": "b"}, {}, {"other": "a"}):
        assert code_of(user.encrypt, KeyId=md["KeyId"], Plaintext=b"t",
                       EncryptionContext=ctx) == "AccessDeniedException", ctx
    ct_b = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"t", EncryptionContext={"tenant": "b"})["CiphertextBlob"]
    assert code_of(user.decrypt, CiphertextBlob=ct_b, EncryptionContext={"tenant": "b"}) == "AccessDeniedException"


def test_deny_in_key_policy_wins(server, kms, admin_arn):
    arn, user = user_with(server, KMS_ALL)
    root = f"arn:aws:iam::{server.account_id}:root"
    md = kms.create_key(Policy=key_policy(
        allow_principal(root, sid="Enable IAM User Permissions"),
        {"Sid": "NoDecrypt", "Effect": "Deny", "Principal": {"AWS": arn}, "Action": "kms:Decrypt",
         "Resource": "*"}))["KeyMetadata"]
    ct = user.encrypt(KeyId=md["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    status, code, msg = fails(user.decrypt, CiphertextBlob=ct)
    assert code == "AccessDeniedException"
    assert msg.startswith(f"User: {arn} is not authorized to perform: kms:Decrypt on resource: {md['Arn']}")
    assert "explicit deny in a resource-based policy" in msg
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"x"


def test_key_policy_principal_forms(server, kms, admin_arn):
    arn, with_iam = user_with(server, KMS_ALL)
    _, without_iam = user_with(server)
    acct = server.account_id
    # A bare account id is the account's root: delegation to IAM policies.
    md = kms.create_key(Policy=key_policy(allow_principal(acct, sid="Account")))["KeyMetadata"]
    with_iam.encrypt(KeyId=md["KeyId"], Plaintext=b"x")
    assert code_of(without_iam.encrypt, KeyId=md["KeyId"], Plaintext=b"x") == "AccessDeniedException"
    # "*" with kms:CallerAccount: every principal of the account, IAM policy or not.
    md = kms.create_key(Policy=key_policy(
        allow_principal(admin_arn, sid="Admin"),
        allow_principal("*", "kms:Encrypt", sid="Everyone", Condition={"StringEquals": {"kms:CallerAccount": acct}})))[
        "KeyMetadata"]
    without_iam.encrypt(KeyId=md["KeyId"], Plaintext=b"x")
    assert code_of(without_iam.decrypt, CiphertextBlob=kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x")[
        "CiphertextBlob"]) == "AccessDeniedException"


def test_key_policy_size_limit(server, kms, admin_arn):
    md = kms.create_key()["KeyMetadata"]
    unchecked = client(server, "kms", config=Config(parameter_validation=False))

    def policy_of(n):
        return key_policy(allow_principal(admin_arn, sid="Admin"),
                          *[allow_principal(admin_arn, "kms:Encrypt", sid=f"S{i:05d}") for i in range(n)])

    n = 1
    while len(policy_of(n)) <= 32_768:
        n += 20
    big = policy_of(n)
    assert len(big) > 32_768
    status, code, _ = fails(unchecked.put_key_policy, KeyId=md["KeyId"], PolicyName="default", Policy=big)
    assert (status, code) == (400, "LimitExceededException")
    while len(policy_of(n)) > 32_768:
        n -= 1
    kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=policy_of(n))


def test_fifty_aliases_per_key(kms):
    md = kms.create_key()["KeyMetadata"]
    base = uniq("alias/many")
    for i in range(50):
        kms.create_alias(AliasName=f"{base}-{i:02d}", TargetKeyId=md["KeyId"])
    status, code, _ = fails(kms.create_alias, AliasName=f"{base}-50", TargetKeyId=md["KeyId"])
    assert (status, code) == (400, "LimitExceededException")
    for i in range(50):
        kms.delete_alias(AliasName=f"{base}-{i:02d}")


def test_lockout_check_sees_kms_condition_keys(server, kms):
    """The common "everyone in this account" key policy (Principal "*" with kms:CallerAccount)
    lets the caller change the policy again, so it passes the lockout check."""
    acct = server.account_id
    policy = key_policy(allow_principal("*", "kms:*", sid="Account",
                                        Condition={"StringEquals": {"kms:CallerAccount": acct}}))
    md = kms.create_key(Policy=policy)["KeyMetadata"]
    kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=policy)
    other = key_policy(allow_principal("*", "kms:*", sid="Other",
                                       Condition={"StringEquals": {"kms:CallerAccount": "111122223333"}}))
    assert code_of(kms.put_key_policy, KeyId=md["KeyId"], PolicyName="default",
                   Policy=other) == "MalformedPolicyDocumentException"


def test_lockout_check_for_a_role_session(server):
    """A key policy naming the caller's role (not its session) passes the lockout check."""
    iam = client(server, "iam")
    role = "kms-admin-" + uuid.uuid4().hex[:6]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"}}]}
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="kms", PolicyDocument=json.dumps(KMS_ALL))
    creds = client(server, "sts").assume_role(RoleArn=role_arn, RoleSessionName="admin")["Credentials"]
    session = client(server, "kms", aws_access_key_id=creds["AccessKeyId"],
                     aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    md = session.create_key(Policy=key_policy(allow_principal(role_arn, sid="Role")))["KeyMetadata"]
    session.put_key_policy(KeyId=md["KeyId"], PolicyName="default",
                           Policy=key_policy(allow_principal(role_arn, sid="RoleAgain")))
    assert session.encrypt(KeyId=md["KeyId"], Plaintext=b"x")["KeyId"] == md["Arn"]
    someone, _ = user_with(server)
    assert code_of(session.put_key_policy, KeyId=md["KeyId"], PolicyName="default",
                   Policy=key_policy(allow_principal(someone))) == "MalformedPolicyDocumentException"


def test_lockout_safety_check(server, kms, admin_arn):
    md = kms.create_key()["KeyMetadata"]
    someone, _ = user_with(server)
    lockout = key_policy(allow_principal(someone, sid="SomeoneElse"))
    status, code, _ = fails(kms.put_key_policy, KeyId=md["KeyId"], PolicyName="default", Policy=lockout)
    assert (status, code) == (400, "MalformedPolicyDocumentException")
    status, code, _ = fails(kms.create_key, Policy=lockout)
    assert code == "MalformedPolicyDocumentException"
    # Delegating to the account only for using the key does not let anyone change the policy again.
    root = f"arn:aws:iam::{server.account_id}:root"
    assert code_of(kms.put_key_policy, KeyId=md["KeyId"], PolicyName="default",
                   Policy=key_policy(allow_principal(root, ["kms:Encrypt", "kms:Decrypt"], sid="UseOnly"))
                   ) == "MalformedPolicyDocumentException"
    # Delegating everything to the account passes (IAM policies then decide), by ARN or account id.
    for who in (root, server.account_id):
        kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=key_policy(allow_principal(who)))
    # A policy that lets the caller change it again passes, and the bypass flag skips the check.
    kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default",
                       Policy=key_policy(allow_principal(admin_arn, "kms:PutKeyPolicy", sid="Me"),
                                         allow_principal(admin_arn, "kms:*", sid="All")))
    assert json.loads(kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")["Policy"])["Statement"][0]["Sid"] == "Me"
    kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=lockout, BypassPolicyLockoutSafetyCheck=True)
    # Now even the administrator is locked out of the key.
    assert code_of(kms.get_key_policy, KeyId=md["KeyId"], PolicyName="default") == "AccessDeniedException"
    assert code_of(kms.put_key_policy, KeyId=md["KeyId"], PolicyName="default", Policy=lockout,
                   BypassPolicyLockoutSafetyCheck=True) == "AccessDeniedException"
    assert code_of(kms.put_key_policy, KeyId=md["KeyId"], PolicyName="default",
                   Policy="{not json") in ("MalformedPolicyDocumentException", "AccessDeniedException")
    assert code_of(kms.create_key, Policy="{not json") == "MalformedPolicyDocumentException"


# --------------------------------------------------------------------------------------------
# 6. Grants


def test_grant_allows_at_once(server, kms):
    md = kms.create_key()["KeyMetadata"]
    grantee, user = user_with(server)
    assert code_of(user.encrypt, KeyId=md["KeyId"], Plaintext=b"x") == "AccessDeniedException"
    g = kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee, Name="app",
                         Operations=["Encrypt", "Decrypt", "GenerateDataKey"])
    token, gid = g["GrantToken"], g["GrantId"]
    ct = user.encrypt(KeyId=md["KeyId"], Plaintext=b"granted", GrantTokens=[token])["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=ct, GrantTokens=[token])["Plaintext"] == b"granted"
    ct2 = user.encrypt(KeyId=md["KeyId"], Plaintext=b"no token")["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=ct2)["Plaintext"] == b"no token"
    assert len(user.generate_data_key(KeyId=md["KeyId"], KeySpec="AES_256")["Plaintext"]) == 32
    # Operations outside the grant are refused.
    for call, kw in ((user.describe_key, {"KeyId": md["KeyId"]}),
                     (user.generate_data_key_without_plaintext, {"KeyId": md["KeyId"], "KeySpec": "AES_256"}),
                     (user.re_encrypt, {"CiphertextBlob": ct, "DestinationKeyId": md["KeyId"]})):
        assert code_of(call, **kw) == "AccessDeniedException", call
    # The grant is in the trail's authorization record of an allowed call.
    r = user.encrypt(KeyId=md["KeyId"], Plaintext=b"x")
    ev = wait_for_event(server, request_id_of(r))
    assert ev["additionalEventData"]["authorization"]["grantId"] == gid
    # Bad tokens.
    status, code, _ = fails(user.encrypt, KeyId=md["KeyId"], Plaintext=b"x", GrantTokens=["not-a-token"])
    assert (status, code) == (400, "InvalidGrantTokenException")
    assert code_of(kms.encrypt, KeyId=md["KeyId"], Plaintext=b"x", GrantTokens=["x" * 20]) == "InvalidGrantTokenException"
    # Revoked by the administrator: no longer allows.
    kms.revoke_grant(KeyId=md["KeyId"], GrantId=gid)
    assert code_of(user.encrypt, KeyId=md["KeyId"], Plaintext=b"x") == "AccessDeniedException"
    assert code_of(kms.revoke_grant, KeyId=md["KeyId"], GrantId=gid) == "NotFoundException"


def test_grants_on_asymmetric_and_hmac_keys(server, kms):
    ec = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    mac = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    grantee, user = user_with(server)
    t1 = kms.create_grant(KeyId=ec["KeyId"], GranteePrincipal=grantee, Operations=["Sign", "GetPublicKey"])
    t2 = kms.create_grant(KeyId=mac["KeyId"], GranteePrincipal=grantee, Operations=["GenerateMac"])
    sig = user.sign(KeyId=ec["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256",
                    GrantTokens=[t1["GrantToken"]])["Signature"]
    user.get_public_key(KeyId=ec["KeyId"])
    assert code_of(user.verify, KeyId=ec["KeyId"], Message=b"m", Signature=sig,
                   SigningAlgorithm="ECDSA_SHA_256") == "AccessDeniedException"
    assert kms.verify(KeyId=ec["KeyId"], Message=b"m", Signature=sig, SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"]
    tag = user.generate_mac(KeyId=mac["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256",
                            GrantTokens=[t2["GrantToken"]])["Mac"]
    assert code_of(user.verify_mac, KeyId=mac["KeyId"], Message=b"m", Mac=tag,
                   MacAlgorithm="HMAC_SHA_256") == "AccessDeniedException"
    # DryRun on these operations too.
    assert code_of(kms.verify, KeyId=ec["KeyId"], Message=b"m", Signature=sig, SigningAlgorithm="ECDSA_SHA_256",
                   DryRun=True) == "DryRunOperationException"
    assert code_of(kms.generate_mac, KeyId=mac["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256",
                   DryRun=True) == "DryRunOperationException"


def test_grant_constraints(server, kms):
    md = kms.create_key()["KeyMetadata"]
    grantee, user = user_with(server)
    kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee, Operations=["Encrypt"],
                     Constraints={"EncryptionContextSubset": {"app": "web"}})
    kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee, Operations=["Decrypt"],
                     Constraints={"EncryptionContextEquals": {"app": "web", "v": "1"}})
    ct = user.encrypt(KeyId=md["KeyId"], Plaintext=b"c", EncryptionContext={"app": "web", "v": "1"})["CiphertextBlob"]
    user.encrypt(KeyId=md["KeyId"], Plaintext=b"c", EncryptionContext={"app": "web"})
    for ctx in ({}, {"app": "api"}, {"v": "1"}):
        assert code_of(user.encrypt, KeyId=md["KeyId"], Plaintext=b"c", EncryptionContext=ctx) == "AccessDeniedException"
    assert user.decrypt(CiphertextBlob=ct, EncryptionContext={"app": "web", "v": "1"})["Plaintext"] == b"c"
    ct2 = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"c", EncryptionContext={"app": "web"})["CiphertextBlob"]
    assert code_of(user.decrypt, CiphertextBlob=ct2, EncryptionContext={"app": "web"}) == "AccessDeniedException"
    listed = kms.list_grants(KeyId=md["KeyId"])["Grants"]
    constraints = sorted(json.dumps(g["Constraints"], sort_keys=True) for g in listed)
    assert constraints == sorted([json.dumps({"EncryptionContextSubset": {"app": "web"}}, sort_keys=True),
                                  json.dumps({"EncryptionContextEquals": {"app": "web", "v": "1"}}, sort_keys=True)])


@pytest.mark.parametrize("path", ["/", "/team/app/"])
def test_grant_to_a_role_covers_its_sessions(server, kms, path):
    """A grant to a role (whatever its path: session ARNs do not show it) covers its sessions."""
    iam = client(server, "iam")
    role = "kms-role-" + uuid.uuid4().hex[:6]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"}}]}
    role_arn = iam.create_role(RoleName=role, Path=path, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    assert role_arn.endswith(f":role{path}{role}")
    creds = client(server, "sts").assume_role(RoleArn=role_arn, RoleSessionName="s1")["Credentials"]
    session = client(server, "kms", aws_access_key_id=creds["AccessKeyId"],
                     aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    md = kms.create_key()["KeyMetadata"]
    assert code_of(session.encrypt, KeyId=md["KeyId"], Plaintext=b"x") == "AccessDeniedException"
    kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=role_arn, Operations=["Encrypt", "DescribeKey"])
    assert session.encrypt(KeyId=md["KeyId"], Plaintext=b"x")["KeyId"] == md["Arn"]
    assert session.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["Arn"] == md["Arn"]


def test_grant_with_constraint_still_allows_describe_key(server, kms):
    md = kms.create_key()["KeyMetadata"]
    grantee, user = user_with(server)
    kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee, Operations=["Decrypt", "DescribeKey"],
                     Constraints={"EncryptionContextSubset": {"app": "x"}})
    assert user.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["KeyId"] == md["KeyId"]
    # Constraints only go with operations that take an encryption context (and DescribeKey, RetireGrant).
    assert code_of(kms.create_grant, KeyId=md["KeyId"], GranteePrincipal=grantee, Operations=["Sign"],
                   Constraints={"EncryptionContextSubset": {"app": "x"}}) == "ValidationException"


def test_create_grant_idempotent_and_dry_run(server, kms):
    md = kms.create_key()["KeyMetadata"]
    grantee, user = user_with(server)
    kw = dict(KeyId=md["KeyId"], GranteePrincipal=grantee, RetiringPrincipal=grantee, Operations=["Encrypt"],
              Name="same")
    a = kms.create_grant(**kw)
    assert kms.create_grant(**kw)["GrantId"] == a["GrantId"]
    assert kms.create_grant(**{**kw, "Operations": ["Decrypt"]})["GrantId"] != a["GrantId"]
    status, code, _ = fails(kms.create_grant, DryRun=True, **{**kw, "Name": "dry"})
    assert (status, code) == (400, "DryRunOperationException")
    assert len(kms.list_grants(KeyId=md["KeyId"])["Grants"]) == 2
    assert code_of(kms.revoke_grant, KeyId=md["KeyId"], GrantId=a["GrantId"], DryRun=True) == "DryRunOperationException"
    assert code_of(user.retire_grant, GrantToken=a["GrantToken"], DryRun=True) == "DryRunOperationException"
    assert len(kms.list_grants(KeyId=md["KeyId"])["Grants"]) == 2
    assert code_of(kms.create_grant, KeyId=md["KeyId"], GranteePrincipal="not-an-arn",
                   Operations=["Encrypt"]) == "ValidationException"


def test_re_encrypt_needs_both_grants(server, kms):
    src = kms.create_key()["KeyMetadata"]
    dst = kms.create_key()["KeyMetadata"]
    grantee, user = user_with(server)
    ct = kms.encrypt(KeyId=src["KeyId"], Plaintext=b"move")["CiphertextBlob"]
    kms.create_grant(KeyId=src["KeyId"], GranteePrincipal=grantee, Operations=["ReEncryptFrom"])
    assert code_of(user.re_encrypt, CiphertextBlob=ct, DestinationKeyId=dst["KeyId"]) == "AccessDeniedException"
    kms.create_grant(KeyId=dst["KeyId"], GranteePrincipal=grantee, Operations=["ReEncryptTo"])
    r = user.re_encrypt(CiphertextBlob=ct, DestinationKeyId=dst["KeyId"])
    assert (r["SourceKeyId"], r["KeyId"]) == (src["Arn"], dst["Arn"])
    assert kms.decrypt(CiphertextBlob=r["CiphertextBlob"])["Plaintext"] == b"move"


def test_explicit_deny_beats_a_grant(server, kms):
    md = kms.create_key()["KeyMetadata"]
    grantee, user = user_with(server, {"Version": "2012-10-17", "Statement": [
        {"Sid": "NoEncrypt", "Effect": "Deny", "Action": "kms:Encrypt", "Resource": "*"}]})
    kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee, Operations=["Encrypt", "GenerateDataKey"])
    user.generate_data_key(KeyId=md["KeyId"], KeySpec="AES_256")
    status, code, msg = fails(user.encrypt, KeyId=md["KeyId"], Plaintext=b"x")
    assert code == "AccessDeniedException" and "explicit deny in an identity-based policy" in msg


def test_list_retirable_grants_pages_across_keys(server, kms):
    retiring, _ = user_with(server)
    made = set()
    for _ in range(2):
        md = kms.create_key()["KeyMetadata"]
        for op in ("Encrypt", "Decrypt"):
            made.add(kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=retiring, RetiringPrincipal=retiring,
                                      Operations=[op])["GrantId"])
    seen, marker = [], None
    while True:
        page = kms.list_retirable_grants(RetiringPrincipal=retiring, Limit=1, **({"Marker": marker} if marker else {}))
        seen += [g["GrantId"] for g in page["Grants"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert sorted(seen) == sorted(made)


def test_list_page_sizes(server, kms):
    """AWS's default and largest Limit per List operation: grants and aliases 50 (at most 100),
    tags 50 (at most 50), keys and rotations 100 (at most 1000)."""
    md = kms.create_key()["KeyMetadata"]
    root = f"arn:aws:iam::{server.account_id}:root"
    for i in range(51):
        kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=root, Operations=["Encrypt"], Name=f"g{i}")
    page = kms.list_grants(KeyId=md["KeyId"])
    assert len(page["Grants"]) == 50 and page["Truncated"] is True
    assert len(kms.list_grants(KeyId=md["KeyId"], Limit=100)["Grants"]) == 51
    unchecked = client(server, "kms", config=Config(parameter_validation=False))
    for call, kw, bad in ((unchecked.list_grants, {"KeyId": md["KeyId"]}, 101),
                          (unchecked.list_aliases, {}, 101),
                          (unchecked.list_resource_tags, {"KeyId": md["KeyId"]}, 51),
                          (unchecked.list_keys, {}, 1001)):
        status, code, _ = fails(call, Limit=bad, **kw)
        assert (status, code) == (400, "ValidationException"), call
    assert len(kms.list_keys(Limit=1000)["Keys"]) > 0


def test_list_retire_revoke_grants(server, kms):
    md = kms.create_key()["KeyMetadata"]
    grantee, user = user_with(server)
    retiring, retirer = user_with(server)
    g1 = kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee, RetiringPrincipal=retiring,
                          Operations=["Encrypt"], Name="one")
    g2 = kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee, RetiringPrincipal=retiring,
                          Operations=["Decrypt"], Name="two")
    g3 = kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=retiring, Operations=["DescribeKey"])
    grants = kms.list_grants(KeyId=md["KeyId"])["Grants"]
    assert {g["GrantId"] for g in grants} == {g1["GrantId"], g2["GrantId"], g3["GrantId"]}
    one = next(g for g in grants if g["GrantId"] == g1["GrantId"])
    assert (one["KeyId"], one["GranteePrincipal"], one["RetiringPrincipal"], one["Operations"], one["Name"]) == (
        md["Arn"], grantee, retiring, ["Encrypt"], "one")
    assert one["IssuingAccount"] == f"arn:aws:iam::{server.account_id}:root"
    assert [g["GrantId"] for g in kms.list_grants(KeyId=md["KeyId"], GrantId=g2["GrantId"])["Grants"]] == [g2["GrantId"]]
    assert {g["GrantId"] for g in kms.list_grants(KeyId=md["KeyId"], GranteePrincipal=retiring)["Grants"]} == {
        g3["GrantId"]}
    page = kms.list_grants(KeyId=md["KeyId"], Limit=2)
    assert page["Truncated"] is True and len(page["Grants"]) == 2
    rest = kms.list_grants(KeyId=md["KeyId"], Limit=2, Marker=page["NextMarker"])
    assert len(rest["Grants"]) == 1 and rest["Truncated"] is False
    retirable = kms.list_retirable_grants(RetiringPrincipal=retiring)["Grants"]
    assert {g["GrantId"] for g in retirable} == {g1["GrantId"], g2["GrantId"]}
    # The grantee may not retire a grant that names another retiring principal.
    assert code_of(user.retire_grant, GrantToken=g1["GrantToken"]) == "AccessDeniedException"
    # The retiring principal (no IAM permissions at all) retires by token and by key and grant id.
    retirer.retire_grant(GrantToken=g1["GrantToken"])
    retirer.retire_grant(KeyId=md["Arn"], GrantId=g2["GrantId"])
    assert {g["GrantId"] for g in kms.list_grants(KeyId=md["KeyId"])["Grants"]} == {g3["GrantId"]}
    assert code_of(user.encrypt, KeyId=md["KeyId"], Plaintext=b"x") == "AccessDeniedException"
    assert code_of(retirer.retire_grant, GrantToken=g1["GrantToken"]) == "NotFoundException"
    assert kms.list_retirable_grants(RetiringPrincipal=retiring)["Grants"] == []
    assert code_of(kms.retire_grant, GrantToken="bogus") == "InvalidGrantTokenException"
    # A user without permissions may not revoke.
    assert code_of(retirer.revoke_grant, KeyId=md["KeyId"], GrantId=g3["GrantId"]) == "AccessDeniedException"
    kms.revoke_grant(KeyId=md["KeyId"], GrantId=g3["GrantId"])
    assert kms.list_grants(KeyId=md["KeyId"])["Grants"] == []


# --------------------------------------------------------------------------------------------
# 7. DryRun


def test_dry_run(server, kms, keys):
    md = kms.create_key()["KeyMetadata"]
    ct = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    ec = keys("ECC_NIST_P256", "SIGN_VERIFY")
    calls = ((kms.encrypt, {"KeyId": md["KeyId"], "Plaintext": b"x"}),
             (kms.decrypt, {"CiphertextBlob": ct}),
             (kms.generate_data_key, {"KeyId": md["KeyId"], "KeySpec": "AES_256"}),
             (kms.sign, {"KeyId": ec["KeyId"], "Message": b"m", "SigningAlgorithm": "ECDSA_SHA_256"}))
    for call, kw in calls:
        status, code, msg = fails(call, DryRun=True, **kw)
        assert (status, code) == (400, "DryRunOperationException"), call
        assert msg == "The request would have succeeded, but the DryRun option is set."
    # A dry run still checks permissions and the key state.
    _, user = user_with(server)
    assert code_of(user.encrypt, KeyId=md["KeyId"], Plaintext=b"x", DryRun=True) == "AccessDeniedException"
    kms.disable_key(KeyId=md["KeyId"])
    assert code_of(kms.encrypt, KeyId=md["KeyId"], Plaintext=b"x", DryRun=True) == "DisabledException"


# --------------------------------------------------------------------------------------------
# 8. Aliases and key types


def test_alias_targets(kms, keys):
    sym = kms.create_key()["KeyMetadata"]
    sym2 = kms.create_key()["KeyMetadata"]
    ec = keys("ECC_NIST_P256", "SIGN_VERIFY")
    rsa = keys("RSA_2048", "SIGN_VERIFY")
    alias = uniq()
    kms.create_alias(AliasName=alias, TargetKeyId=sym["KeyId"])
    status, code, _ = fails(kms.create_alias, AliasName=uniq(), TargetKeyId=alias)
    assert (status, code) == (400, "ValidationException")
    assert code_of(kms.update_alias, AliasName=alias, TargetKeyId=alias) == "ValidationException"
    # Retargeting only to a key of the same type (symmetric, asymmetric, HMAC) and key usage
    # (AWS's UpdateAlias); an RSA encryption key has the usage but not the type.
    for other in (ec, rsa, keys("HMAC_256", "GENERATE_VERIFY_MAC"), keys("RSA_2048", "ENCRYPT_DECRYPT")):
        assert code_of(kms.update_alias, AliasName=alias, TargetKeyId=other["KeyId"]) == "ValidationException"
    kms.update_alias(AliasName=alias, TargetKeyId=sym2["Arn"])
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == sym2["KeyId"]
    ec_alias = uniq()
    kms.create_alias(AliasName=ec_alias, TargetKeyId=ec["KeyId"])
    sig = kms.sign(KeyId=ec_alias, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    assert sig["KeyId"] == ec["Arn"]
    assert code_of(kms.update_alias, AliasName=ec_alias,
                   TargetKeyId=keys("ECC_NIST_P256", "KEY_AGREEMENT")["KeyId"]) == "ValidationException"
    # Another asymmetric signing key of another spec is fine.
    kms.update_alias(AliasName=ec_alias, TargetKeyId=rsa["KeyId"])
    assert kms.describe_key(KeyId=ec_alias)["KeyMetadata"]["KeySpec"] == "RSA_2048"
    other_ec = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.update_alias(AliasName=ec_alias, TargetKeyId=other_ec["KeyId"])
    # alias/aws/ is reserved.
    status, code, _ = fails(kms.create_alias, AliasName="alias/aws/mine", TargetKeyId=sym["KeyId"])
    assert (status, code) == (400, "NotAuthorizedException")
    assert code_of(kms.delete_alias, AliasName="alias/aws/ebs") == "NotAuthorizedException"
    assert code_of(kms.update_alias, AliasName="alias/aws/ebs", TargetKeyId=sym["KeyId"]) == "NotAuthorizedException"


# --------------------------------------------------------------------------------------------
# Secrets never reach the trail


def test_zz_key_material_never_in_trail(server, kms, keys):
    sym = kms.create_key()["KeyMetadata"]
    pair = kms.generate_data_key_pair(KeyId=sym["KeyId"], KeyPairSpec="ECC_NIST_P256")
    kem = keys("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")
    enc = kms.encapsulate(KeyId=kem["KeyId"], EncapsulationAlgorithm="ML_KEM")
    dec = kms.decapsulate(KeyId=kem["KeyId"], SharedSecretCiphertextBlob=enc["SharedSecretCiphertextBlob"],
                          EncapsulationAlgorithm="ML_KEM")
    agree = keys("ECC_NIST_P256", "KEY_AGREEMENT")
    peer_pub = kms.get_public_key(KeyId=keys("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"])["PublicKey"]
    shared = kms.derive_shared_secret(KeyId=agree["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=peer_pub)
    rsa = keys("RSA_2048", "ENCRYPT_DECRYPT")
    secret = b"rsa-secret-" + uuid.uuid4().hex.encode()
    ct = kms.encrypt(KeyId=rsa["KeyId"], Plaintext=secret, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    kms.decrypt(KeyId=rsa["KeyId"], CiphertextBlob=ct, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    mac_key = keys("HMAC_256", "GENERATE_VERIFY_MAC")
    mac = kms.generate_mac(KeyId=mac_key["KeyId"], Message=secret, MacAlgorithm="HMAC_SHA_256")["Mac"]
    kms.sign(KeyId=keys("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"], Message=secret, SigningAlgorithm="ECDSA_SHA_256")
    secrets = [pair["PrivateKeyPlaintext"], enc["SharedSecret"], dec["SharedSecret"], shared["SharedSecret"], secret]
    deadline = time.time() + 10
    while True:
        rows = trail_rows(server, "event_source = ?", ("kms.amazonaws.com",))
        names = {r["event_name"] for r in rows}
        if {"GenerateDataKeyPair", "Decapsulate", "DeriveSharedSecret", "GenerateMac", "Sign"} <= names:
            break
        assert time.time() < deadline, names
        time.sleep(0.1)
    for r in rows:
        for s in secrets:
            assert base64.b64encode(s).decode() not in r["record"], r["event_name"]
            assert s.hex() not in r["record"]
        assert secret.decode() not in r["record"]
    assert mac  # a MAC is not secret, but the message it covers is

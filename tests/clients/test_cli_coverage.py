"""Every KMS and Secrets Manager command of the aws CLI (the commands its bundled model knows),
run against a real server in one scenario each: the test fails if the CLI has a command the
scenario does not run, so coverage cannot silently shrink. Custom key stores answer as AWS
does for stores that do not exist (the CloudHSM issue brings them)."""
import base64
import json
import os
import re
import subprocess
import uuid

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from conftest import AWS_CLI, aws


def cli_commands(service: str) -> set:
    out = subprocess.run([AWS_CLI, service, "help"], capture_output=True, text=True, timeout=60,
                         env={"PATH": os.environ.get("PATH", ""), "PAGER": "cat", "AWS_DEFAULT_REGION": "us-east-1"}).stdout
    return set(re.findall(r"o ([a-z][a-z-]+[a-z])\n", out)) - {"help", "wait"}


class Runner:
    def __init__(self, server):
        self.server = server
        self.seen = set()

    def ok(self, *args):
        self.seen.add(args[1])
        return aws(self.server, *args)

    def err(self, code, *args):
        self.seen.add(args[1])
        r = aws(self.server, *args, check=False)
        assert r.returncode != 0 and f"({code})" in r.stderr, f"aws {' '.join(args)}: {r.stderr}"
        return r.stderr


def b64file(tmp, name, data: bytes) -> str:
    p = tmp / name
    p.write_bytes(data)
    return f"fileb://{p}"


def test_every_kms_command(server, tmp_path):
    r = Runner(server)
    k = lambda *a: r.ok("kms", *a)  # noqa: E731
    key = k("create-key", "--description", "cli")["KeyMetadata"]["KeyId"]
    k("describe-key", "--key-id", key)
    k("list-keys", "--limit", "5")
    k("update-key-description", "--key-id", key, "--description", "cli coverage")
    alias = f"alias/cli-{uuid.uuid4().hex[:8]}"
    k("create-alias", "--alias-name", alias, "--target-key-id", key)
    other = k("create-key")["KeyMetadata"]["KeyId"]
    k("update-alias", "--alias-name", alias, "--target-key-id", other)
    k("list-aliases", "--key-id", other)
    k("delete-alias", "--alias-name", alias)
    k("tag-resource", "--key-id", key, "--tags", "TagKey=team,TagValue=ops")
    assert k("list-resource-tags", "--key-id", key)["Tags"] == [{"TagKey": "team", "TagValue": "ops"}]
    k("untag-resource", "--key-id", key, "--tag-keys", "team")
    plain = b64file(tmp_path, "plain", b"cli coverage")
    blob = base64.b64decode(k("encrypt", "--key-id", key, "--plaintext", plain, "--encryption-context", "a=b")["CiphertextBlob"])
    ct = b64file(tmp_path, "ct", blob)
    assert base64.b64decode(k("decrypt", "--ciphertext-blob", ct, "--encryption-context", "a=b")["Plaintext"]) == b"cli coverage"
    k("re-encrypt", "--ciphertext-blob", ct, "--source-encryption-context", "a=b", "--destination-key-id", other)
    k("generate-data-key", "--key-id", key, "--key-spec", "AES_256")
    k("generate-data-key-without-plaintext", "--key-id", key, "--number-of-bytes", "32")
    k("generate-data-key-pair", "--key-id", key, "--key-pair-spec", "ECC_NIST_P256")
    k("generate-data-key-pair-without-plaintext", "--key-id", key, "--key-pair-spec", "RSA_2048")
    assert len(base64.b64decode(k("generate-random", "--number-of-bytes", "64")["Plaintext"])) == 64
    # Rotation.
    k("enable-key-rotation", "--key-id", key, "--rotation-period-in-days", "90")
    assert k("get-key-rotation-status", "--key-id", key)["KeyRotationEnabled"] is True
    k("rotate-key-on-demand", "--key-id", key)
    k("list-key-rotations", "--key-id", key)
    k("disable-key-rotation", "--key-id", key)
    # Policies and grants.
    policy = k("get-key-policy", "--key-id", key, "--policy-name", "default")["Policy"]
    k("list-key-policies", "--key-id", key)
    k("put-key-policy", "--key-id", key, "--policy-name", "default", "--policy", policy)
    me = aws(server, "sts", "get-caller-identity")["Arn"]
    g = k("create-grant", "--key-id", key, "--grantee-principal", f"arn:aws:iam::{server.account_id}:root",
          "--retiring-principal", me, "--operations", "Encrypt", "Decrypt")
    k("list-grants", "--key-id", key)
    k("list-retirable-grants", "--retiring-principal", me)
    r.ok("kms", "retire-grant", "--key-id", key, "--grant-id", g["GrantId"])
    g2 = k("create-grant", "--key-id", key, "--grantee-principal", f"arn:aws:iam::{server.account_id}:root",
           "--operations", "Encrypt")["GrantId"]
    k("revoke-grant", "--key-id", key, "--grant-id", g2)
    k("get-key-last-usage", "--key-id", key)
    # States.
    k("disable-key", "--key-id", other)
    k("enable-key", "--key-id", other)
    k("schedule-key-deletion", "--key-id", other, "--pending-window-in-days", "7")
    k("cancel-key-deletion", "--key-id", other)
    # Asymmetric, HMAC, ECDH.
    signer = k("create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    msg = b64file(tmp_path, "msg", b"release")
    sig = base64.b64decode(k("sign", "--key-id", signer, "--message", msg, "--signing-algorithm", "ECDSA_SHA_256")["Signature"])
    assert k("verify", "--key-id", signer, "--message", msg, "--signature", b64file(tmp_path, "sig", sig),
             "--signing-algorithm", "ECDSA_SHA_256")["SignatureValid"] is True
    pub = base64.b64decode(k("get-public-key", "--key-id", signer)["PublicKey"])
    serialization.load_der_public_key(pub).verify(sig, b"release", ec.ECDSA(hashes.SHA256()))
    mac_key = k("create-key", "--key-spec", "HMAC_256", "--key-usage", "GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    mac = base64.b64decode(k("generate-mac", "--key-id", mac_key, "--message", msg, "--mac-algorithm", "HMAC_SHA_256")["Mac"])
    assert k("verify-mac", "--key-id", mac_key, "--message", msg, "--mac", b64file(tmp_path, "mac", mac),
             "--mac-algorithm", "HMAC_SHA_256")["MacValid"] is True
    agree = k("create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
    peer = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    k("derive-shared-secret", "--key-id", agree, "--key-agreement-algorithm", "ECDH", "--public-key",
      b64file(tmp_path, "peer", peer))
    # Imported material.
    ext = k("create-key", "--origin", "EXTERNAL")["KeyMetadata"]["KeyId"]
    params = k("get-parameters-for-import", "--key-id", ext, "--wrapping-algorithm", "RSAES_OAEP_SHA_256",
               "--wrapping-key-spec", "RSA_2048")
    wrapping = serialization.load_der_public_key(base64.b64decode(params["PublicKey"]))
    wrapped = wrapping.encrypt(os.urandom(32), padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
    k("import-key-material", "--key-id", ext, "--import-token",
      b64file(tmp_path, "token", base64.b64decode(params["ImportToken"])),
      "--encrypted-key-material", b64file(tmp_path, "wrapped", wrapped), "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    k("delete-imported-key-material", "--key-id", ext)
    # Multi-Region keys.
    mrk = k("create-key", "--multi-region")["KeyMetadata"]["KeyId"]
    k("replicate-key", "--key-id", mrk, "--replica-region", "us-west-2")
    k("update-primary-region", "--key-id", mrk, "--primary-region", "us-west-2")
    # Custom key stores: none exist on this node.
    store = "cks-1234567890abcdef0"
    r.err("CustomKeyStoreNotFoundException", "kms", "describe-custom-key-stores", "--custom-key-store-id", store)
    r.err("CustomKeyStoreNotFoundException", "kms", "connect-custom-key-store", "--custom-key-store-id", store)
    r.err("CustomKeyStoreNotFoundException", "kms", "disconnect-custom-key-store", "--custom-key-store-id", store)
    r.err("CustomKeyStoreNotFoundException", "kms", "update-custom-key-store", "--custom-key-store-id", store,
          "--new-custom-key-store-name", "x")
    r.err("CustomKeyStoreNotFoundException", "kms", "delete-custom-key-store", "--custom-key-store-id", store)
    r.err("CloudHsmClusterNotFoundException", "kms", "create-custom-key-store", "--custom-key-store-name", "x",
          "--cloud-hsm-cluster-id", "cluster-234567abcdef", "--trust-anchor-certificate", "cert",
          "--key-store-password", "kmsPswd1")
    missing = cli_commands("kms") - r.seen
    assert not missing, f"KMS commands the scenario does not run: {sorted(missing)}"


def test_every_secretsmanager_command(server):
    r = Runner(server)
    s = lambda *a: r.ok("secretsmanager", *a)  # noqa: E731
    name = f"cli/{uuid.uuid4().hex[:8]}"
    arn = s("create-secret", "--name", name, "--secret-string", "v1", "--tags", "Key=a,Value=1")["ARN"]
    s("describe-secret", "--secret-id", name)
    s("list-secrets", "--filters", f"Key=name,Values={name}")
    s("get-secret-value", "--secret-id", name)
    s("batch-get-secret-value", "--secret-id-list", name)
    v2 = s("put-secret-value", "--secret-id", name, "--secret-string", "v2")["VersionId"]
    s("update-secret", "--secret-id", name, "--description", "cli coverage")
    s("list-secret-version-ids", "--secret-id", name)
    s("update-secret-version-stage", "--secret-id", name, "--version-stage", "blue", "--move-to-version-id", v2)
    s("tag-resource", "--secret-id", name, "--tags", "Key=b,Value=2")
    s("untag-resource", "--secret-id", name, "--tag-keys", "a")
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    s("validate-resource-policy", "--resource-policy", doc)
    s("put-resource-policy", "--secret-id", name, "--resource-policy", doc, "--block-public-policy")
    s("get-resource-policy", "--secret-id", name)
    s("delete-resource-policy", "--secret-id", name)
    s("get-random-password", "--password-length", "24", "--exclude-punctuation")
    lam = f"arn:aws:lambda:us-east-1:{server.account_id}:function:rampart-random-rotator"
    s("rotate-secret", "--secret-id", name, "--rotation-lambda-arn", lam, "--rotation-rules",
      "AutomaticallyAfterDays=30", "--no-rotate-immediately")
    s("cancel-rotate-secret", "--secret-id", name)
    s("replicate-secret-to-regions", "--secret-id", name, "--add-replica-regions", "Region=eu-west-1")
    s("remove-regions-from-replication", "--secret-id", name, "--remove-replica-regions", "eu-west-1")
    s("replicate-secret-to-regions", "--secret-id", name, "--add-replica-regions", "Region=eu-west-1")
    r.ok("secretsmanager", "stop-replication-to-replica", "--secret-id", arn.replace("us-east-1", "eu-west-1"),
         "--region", "eu-west-1")
    s("delete-secret", "--secret-id", name, "--recovery-window-in-days", "7")
    s("restore-secret", "--secret-id", name)
    s("delete-secret", "--secret-id", name, "--force-delete-without-recovery")
    missing = cli_commands("secretsmanager") - r.seen
    assert not missing, f"Secrets Manager commands the scenario does not run: {sorted(missing)}"

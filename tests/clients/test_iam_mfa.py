"""Virtual MFA devices through boto3 and the aws CLI: CreateVirtualMFADevice (the seed once,
base32 and as a QR code PNG), EnableMFADevice with two consecutive TOTP codes, then STS
GetSessionToken and AssumeRole with SerialNumber/TokenCode: the codes are checked (each once),
and policies and trust policies see aws:MultiFactorAuthPresent and aws:MultiFactorAuthAge."""
import base64
import hashlib
import hmac
import json
import struct
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import aws, client, error_of, trail_rows


def totp(seed_b32: str, step: int) -> str:
    key = base64.b32decode(seed_b32 + "=" * (-len(seed_b32) % 8))
    h = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = h[-1] & 0x0F
    return f"{(struct.unpack('>I', h[off:off + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def now_step() -> int:
    return int(time.time()) // 30


def fails(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return error_of(e.value)


@pytest.fixture
def bob(server):
    """A user whose policy allows listing users only with MFA, with a virtual MFA device."""
    iam = client(server, "iam")
    name = "bob-" + uuid.uuid4().hex[:8]
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="mfa", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["sts:GetSessionToken", "sts:AssumeRole"], "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
             "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                           "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=name, Tags=[{"Key": "team", "Value": "ops"}])["VirtualMFADevice"]
    return dict(name=name, serial=dev["SerialNumber"], seed=dev["Base32StringSeed"].decode(), dev=dev,
                kw=dict(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]))


def test_virtual_mfa_device_lifecycle(server, bob):
    iam = client(server, "iam")
    account = client(server, "sts").get_caller_identity()["Account"]
    assert bob["serial"] == f"arn:aws:iam::{account}:mfa/{bob['name']}"
    assert len(bob["seed"]) == 32 and set(bob["seed"]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert bob["dev"]["QRCodePNG"].startswith(b"\x89PNG\r\n\x1a\n")
    assert fails(iam.create_virtual_mfa_device, VirtualMFADeviceName=bob["name"])[1] == "EntityAlreadyExists"
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert bob["serial"] in [d["SerialNumber"] for d in unassigned]
    # Wrong codes, or two codes that do not follow each other, are refused.
    s = now_step()
    status, code, msg = fails(iam.enable_mfa_device, UserName=bob["name"], SerialNumber=bob["serial"],
                              AuthenticationCode1=totp(bob["seed"], s), AuthenticationCode2=totp(bob["seed"], s - 1))
    assert (status, code, msg) == (403, "InvalidAuthenticationCode", "Authentication code for device is not valid.")
    iam.enable_mfa_device(UserName=bob["name"], SerialNumber=bob["serial"],
                          AuthenticationCode1=totp(bob["seed"], s - 2), AuthenticationCode2=totp(bob["seed"], s - 1))
    devices = iam.list_mfa_devices(UserName=bob["name"])["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [bob["serial"]]
    got = iam.get_mfa_device(SerialNumber=bob["serial"])
    assert got["UserName"] == bob["name"] and "EnableDate" in got
    assigned = {d["SerialNumber"]: d for d in iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]}
    assert assigned[bob["serial"]]["User"]["UserName"] == bob["name"]
    assert iam.list_mfa_device_tags(SerialNumber=bob["serial"])["Tags"] == [{"Key": "team", "Value": "ops"}]
    # The device is in use: it cannot be deleted, nor can its user.
    assert fails(iam.delete_virtual_mfa_device, SerialNumber=bob["serial"])[1] == "DeleteConflict"
    iam.delete_access_key(UserName=bob["name"], AccessKeyId=bob["kw"]["aws_access_key_id"])
    iam.delete_user_policy(UserName=bob["name"], PolicyName="mfa")
    status, code, msg = fails(iam.delete_user, UserName=bob["name"])
    assert code == "DeleteConflict" and "MFA device" in msg
    iam.deactivate_mfa_device(UserName=bob["name"], SerialNumber=bob["serial"])
    assert iam.list_mfa_devices(UserName=bob["name"])["MFADevices"] == []
    iam.delete_virtual_mfa_device(SerialNumber=bob["serial"])
    iam.delete_user(UserName=bob["name"])
    assert fails(iam.get_mfa_device, SerialNumber=bob["serial"])[1] == "NoSuchEntity"


def test_sessions_with_mfa(server, bob):
    iam = client(server, "iam")
    s = now_step()
    iam.enable_mfa_device(UserName=bob["name"], SerialNumber=bob["serial"],
                          AuthenticationCode1=totp(bob["seed"], s - 2), AuthenticationCode2=totp(bob["seed"], s - 1))
    last = s - 1
    sts = client(server, "sts", **bob["kw"])
    # Long-term keys: no MFA, no ListUsers.
    assert fails(client(server, "iam", **bob["kw"]).list_users)[1] == "AccessDenied"
    # A session without MFA: aws:MultiFactorAuthPresent is false.
    plain = sts.get_session_token()["Credentials"]
    creds = dict(aws_access_key_id=plain["AccessKeyId"], aws_secret_access_key=plain["SecretAccessKey"],
                 aws_session_token=plain["SessionToken"])
    assert fails(client(server, "iam", **creds).list_users)[1] == "AccessDenied"
    # A wrong code, a code of another device, half the parameters: refused.
    status, code, msg = fails(sts.get_session_token, SerialNumber=bob["serial"], TokenCode="000000"
                              if totp(bob["seed"], last + 1) != "000000" else "111111")
    assert (status, code) == (403, "AccessDenied") and "invalid MFA one time pass code" in msg
    account = client(server, "sts").get_caller_identity()["Account"]
    assert fails(sts.get_session_token, SerialNumber=f"arn:aws:iam::{account}:mfa/nobody",
                 TokenCode=totp(bob["seed"], last + 1))[1] == "AccessDenied"
    assert fails(sts.get_session_token, SerialNumber=bob["serial"])[1] == "ValidationError"
    # The right code: an MFA session, which may list users.
    code = totp(bob["seed"], last + 1)
    mfa = sts.get_session_token(SerialNumber=bob["serial"], TokenCode=code, DurationSeconds=900)["Credentials"]
    last += 1
    mcreds = dict(aws_access_key_id=mfa["AccessKeyId"], aws_secret_access_key=mfa["SecretAccessKey"],
                  aws_session_token=mfa["SessionToken"])
    client(server, "iam", **mcreds).list_users()
    # A code works once.
    assert fails(sts.get_session_token, SerialNumber=bob["serial"], TokenCode=code)[1] == "AccessDenied"

    # A role whose trust policy requires MFA.
    role = "mfa-role-" + uuid.uuid4().hex[:8]
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}))
    arn = f"arn:aws:iam::{account}:role/{role}"
    assert fails(sts.assume_role, RoleArn=arn, RoleSessionName="no-mfa")[1] == "AccessDenied"
    r = sts.assume_role(RoleArn=arn, RoleSessionName="with-mfa", SerialNumber=bob["serial"],
                        TokenCode=totp(bob["seed"], last + 1))
    assert r["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{role}/with-mfa")
    # The MFA session itself satisfies the trust policy (its MFA is recent).
    client(server, "sts", **mcreds).assume_role(RoleArn=arn, RoleSessionName="from-mfa-session")
    # The trail shows the code's use without the code.
    rows = [r["event"] for r in trail_rows(server, "record LIKE ?", (f"%{bob['serial']}%",))
            if r["event"]["eventName"] == "GetSessionToken"]
    assert rows and all(code not in json.dumps(e) for e in rows)
    assert {e["requestParameters"].get("tokenCode") for e in rows} - {None} == {"HIDDEN_DUE_TO_SECURITY_REASONS"}


def test_mfa_with_the_cli(server, tmp_path):
    name = "cli-mfa-" + uuid.uuid4().hex[:8]
    aws(server, "iam", "create-user", "--user-name", name)
    png = tmp_path / "qr.png"
    out = aws(server, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", name,
              "--outfile", str(png), "--bootstrap-method", "QRCodePNG")
    assert png.read_bytes().startswith(b"\x89PNG")
    seed_file = tmp_path / "seed.txt"
    aws(server, "iam", "delete-virtual-mfa-device", "--serial-number", out["VirtualMFADevice"]["SerialNumber"])
    out = aws(server, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", name,
              "--outfile", str(seed_file), "--bootstrap-method", "Base32StringSeed")
    serial, seed = out["VirtualMFADevice"]["SerialNumber"], seed_file.read_text().strip()
    s = now_step()
    aws(server, "iam", "enable-mfa-device", "--user-name", name, "--serial-number", serial,
        "--authentication-code1", totp(seed, s - 2), "--authentication-code2", totp(seed, s - 1))
    listed = aws(server, "iam", "list-mfa-devices", "--user-name", name)["MFADevices"]
    assert [d["SerialNumber"] for d in listed] == [serial]
    aws(server, "iam", "resync-mfa-device", "--user-name", name, "--serial-number", serial,
        "--authentication-code1", totp(seed, s), "--authentication-code2", totp(seed, s + 1))
    aws(server, "iam", "deactivate-mfa-device", "--user-name", name, "--serial-number", serial)
    aws(server, "iam", "delete-virtual-mfa-device", "--serial-number", serial)
    aws(server, "iam", "delete-user", "--user-name", name)

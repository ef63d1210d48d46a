"""Console passwords (login profiles) and the account password policy through boto3 and the
aws CLI: AWS's default policy when none is set, a custom policy enforced, ChangePassword by the
user with the old password, reuse prevention, DeleteUser conflicts, and passwords never in the
trail."""
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import aws, client, error_of, trail_rows


def fails(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return error_of(e.value)


def test_login_profiles_and_password_policy(spawn):
    srv = spawn("login", dev=True)
    iam = client(srv, "iam")
    name = "carol-" + uuid.uuid4().hex[:6]
    iam.create_user(UserName=name)
    # AWS's default policy: 8 characters, three kinds.
    status, code, msg = fails(iam.create_login_profile, UserName=name, Password="short")
    assert (status, code) == (400, "PasswordPolicyViolation") and "password policy" in msg
    assert fails(iam.create_login_profile, UserName=name, Password="alllowercaseletters")[1] == "PasswordPolicyViolation"
    first = "Tr0ubadour-first"
    lp = iam.create_login_profile(UserName=name, Password=first, PasswordResetRequired=True)["LoginProfile"]
    assert lp["UserName"] == name and lp["PasswordResetRequired"] is True
    assert iam.get_login_profile(UserName=name)["LoginProfile"]["UserName"] == name
    assert fails(iam.create_login_profile, UserName=name, Password=first)[1] == "EntityAlreadyExists"
    assert fails(iam.get_login_profile, UserName="nobody-" + name)[1] == "NoSuchEntity"
    # No custom policy yet.
    assert fails(iam.get_account_password_policy)[1] == "NoSuchEntity"
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True, RequireNumbers=True,
                                       AllowUsersToChangePassword=True, PasswordReusePrevention=3, MaxPasswordAge=90)
    pol = iam.get_account_password_policy()["PasswordPolicy"]
    assert pol["MinimumPasswordLength"] == 14 and pol["RequireSymbols"] and pol["ExpirePasswords"] is True
    assert pol["PasswordReusePrevention"] == 3 and pol["RequireUppercaseCharacters"] is False
    assert fails(iam.update_login_profile, UserName=name, Password="only-thirteen")[1] == "PasswordPolicyViolation"
    second = "a-much-longer-passphrase-2"
    iam.update_login_profile(UserName=name, Password=second, PasswordResetRequired=False)
    assert iam.get_login_profile(UserName=name)["LoginProfile"]["PasswordResetRequired"] is False

    # The user changes their own password with the old one; recent ones cannot come back.
    key = iam.create_access_key(UserName=name)["AccessKey"]
    mine = client(srv, "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert fails(mine.change_password, OldPassword="wrong-old-password-1!", NewPassword="another-long-one-3!")[1] == "AccessDenied"
    third = "another-long-one-3!"
    mine.change_password(OldPassword=second, NewPassword=third)
    status, code, msg = fails(mine.change_password, OldPassword=third, NewPassword=second)
    assert code == "PasswordPolicyViolation" and "used recently" in msg
    # Without AllowUsersToChangePassword, users may not.
    iam.update_account_password_policy(MinimumPasswordLength=8)
    assert fails(mine.change_password, OldPassword=third, NewPassword="yet-another-4!")[1] == "AccessDenied"
    # A user is not deleted while it has a login profile.
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    status, code, msg = fails(iam.delete_user, UserName=name)
    assert code == "DeleteConflict" and "login profile" in msg
    iam.delete_login_profile(UserName=name)
    assert fails(iam.delete_login_profile, UserName=name)[1] == "NoSuchEntity"
    iam.delete_user(UserName=name)
    iam.delete_account_password_policy()
    assert fails(iam.delete_account_password_policy)[1] == "NoSuchEntity"
    # No password ever reaches the trail.
    text = json.dumps([r["event"] for r in trail_rows(srv)])
    for pw in (first, second, third):
        assert pw not in text
    assert "HIDDEN_DUE_TO_SECURITY_REASONS" in text


def test_login_profile_cli(server):
    name = "dave-" + uuid.uuid4().hex[:6]
    aws(server, "iam", "create-user", "--user-name", name)
    out = aws(server, "iam", "create-login-profile", "--user-name", name, "--password", "Cli-Passw0rd-ok",
              "--password-reset-required")
    assert out["LoginProfile"]["PasswordResetRequired"] is True
    assert aws(server, "iam", "get-login-profile", "--user-name", name)["LoginProfile"]["UserName"] == name
    aws(server, "iam", "delete-login-profile", "--user-name", name)
    aws(server, "iam", "delete-user", "--user-name", name)

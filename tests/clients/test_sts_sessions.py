"""STS temporary credentials through boto3 and the aws CLI: AssumeRole (trust policy, duration,
session policies and tags, AWS's refusals), GetSessionToken, and requests signed with the
temporary credentials — accepted with their session token, refused without it or with a wrong
one."""
import datetime as dt
import json
import re
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import CANARY, aws, client, error_of, trail_rows, wait_for_event

ALLOW_S3 = {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def trust(principal):
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal},
                                      "Action": "sts:AssumeRole"}]})


@pytest.fixture(scope="module")
def iam(server):
    return client(server, "iam")


@pytest.fixture(scope="module")
def sts(server):
    return client(server, "sts")


@pytest.fixture(scope="module")
def role(server, iam):
    """A role the account (so its administrator) may assume, for up to two hours."""
    name = uniq("session-role")
    r = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{server.account_id}:root"),
                        MaxSessionDuration=7200)["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(ALLOW_S3))
    # Sessions of the role may ask STS for more (to show STS's own refusals).
    iam.put_role_policy(RoleName=name, PolicyName="sts", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:GetSessionToken"], "Resource": "*"}]}))
    yield r
    iam.delete_role_policy(RoleName=name, PolicyName="sts")
    iam.delete_role_policy(RoleName=name, PolicyName="read")
    iam.delete_role(RoleName=name)


def fails(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return error_of(e.value)


def assume(sts, role, **kw):
    return sts.assume_role(RoleArn=role["Arn"], RoleSessionName=kw.pop("RoleSessionName", "s1"), **kw)


def session_client(server, service, creds, **kw):
    return client(server, service, aws_access_key_id=creds["AccessKeyId"],
                  aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"], **kw)


# ---- AssumeRole ----------------------------------------------------------------------------


def test_assume_role_returns_temporary_credentials(server, sts, role):
    before = dt.datetime.now(dt.timezone.utc)
    out = assume(sts, role, RoleSessionName="build-42")
    c = out["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", c["AccessKeyId"])
    assert len(c["SecretAccessKey"]) == 40 and len(c["SessionToken"]) >= 100
    lifetime = (c["Expiration"] - before).total_seconds()
    assert 3590 <= lifetime <= 3610, lifetime  # DurationSeconds defaults to one hour
    user = out["AssumedRoleUser"]
    assert user["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/{role['RoleName']}/build-42"
    assert user["AssumedRoleId"] == f"{role['RoleId']}:build-42"
    assert "PackedPolicySize" not in out


def test_assume_role_with_duration_session_policy_and_tags(server, sts, role):
    before = dt.datetime.now(dt.timezone.utc)
    out = assume(sts, role, DurationSeconds=7200, Policy=json.dumps(ALLOW_S3),
                 PolicyArns=[{"arn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}],
                 Tags=[{"Key": "project", "Value": "rampart"}])
    lifetime = (out["Credentials"]["Expiration"] - before).total_seconds()
    assert 7190 <= lifetime <= 7210, lifetime
    assert 1 <= out["PackedPolicySize"] <= 100


def test_assume_role_cli(server, role):
    out = aws(server, "sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", "cli",
              "--duration-seconds", "900")
    assert out["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{role['RoleName']}/cli")
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_assume_role_refusals(server, sts, iam, role):
    # A trust policy that names someone else.
    other = uniq("not-for-you")
    iam.create_role(RoleName=other, AssumeRolePolicyDocument=trust("arn:aws:iam::111122223333:root"))
    arn = f"arn:aws:iam::{server.account_id}:role/{other}"
    admin = f"arn:aws:iam::{server.account_id}:user/admin"
    assert fails(sts.assume_role, RoleArn=arn, RoleSessionName="xx") == (
        403, "AccessDenied", f"User: {admin} is not authorized to perform: sts:AssumeRole on resource: {arn}")
    iam.delete_role(RoleName=other)
    # A role that does not exist is refused the same way.
    missing = f"arn:aws:iam::{server.account_id}:role/{uniq('missing')}"
    assert fails(sts.assume_role, RoleArn=missing, RoleSessionName="xx") == (
        403, "AccessDenied", f"User: {admin} is not authorized to perform: sts:AssumeRole on resource: {missing}")
    # Longer than the role allows.
    assert fails(assume, sts=sts, role=role, DurationSeconds=7201) == (
        400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    # Session names and durations the model refuses.
    status, code, _ = fails(assume, sts=sts, role=role, RoleSessionName="bad name")
    assert (status, code) == (400, "ValidationError")
    status, code, _ = fails(assume, sts=sts, role=role, DurationSeconds=50000)
    assert (status, code) == (400, "ValidationError")
    # A session policy must be a valid identity policy.
    status, code, _ = fails(assume, sts=sts, role=role, Policy='{"Statement": "nope"}')
    assert (status, code) == (400, "MalformedPolicyDocument")


def test_assume_role_as_a_user_without_permission(server, iam, role, tmp_path):
    """The trust policy names the account: the caller's own policies must allow sts:AssumeRole."""
    user = uniq("no-assume")
    iam.create_user(UserName=user)
    k = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = client(server, "sts", aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])
    status, code, msg = fails(as_user.assume_role, RoleArn=role["Arn"], RoleSessionName="xx")
    assert (status, code) == (403, "AccessDenied")
    assert msg.startswith(f"User: arn:aws:iam::{server.account_id}:user/{user} is not authorized")
    iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]}]}))
    assert as_user.assume_role(RoleArn=role["Arn"], RoleSessionName="xx")["Credentials"]
    iam.delete_user_policy(UserName=user, PolicyName="assume")
    iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    iam.delete_user(UserName=user)


def test_role_last_used(server, sts, iam, role):
    assume(sts, role)
    last = iam.get_role(RoleName=role["RoleName"])["Role"]["RoleLastUsed"]
    assert last["Region"] == "us-east-1" and "LastUsedDate" in last


# ---- GetSessionToken -----------------------------------------------------------------------


def test_get_session_token(server, sts):
    before = dt.datetime.now(dt.timezone.utc)
    c = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and c["SessionToken"]
    assert 890 <= (c["Expiration"] - before).total_seconds() <= 910
    c = sts.get_session_token()["Credentials"]
    assert 43190 <= (c["Expiration"] - before).total_seconds() <= 43210  # 12 hours by default
    status, code, _ = fails(sts.get_session_token, DurationSeconds=200000)
    assert (status, code) == (400, "ValidationError")


def test_get_session_token_cli(server):
    out = aws(server, "sts", "get-session-token", "--duration-seconds", "900")
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")


# ---- using temporary credentials -----------------------------------------------------------


def test_missing_session_token_is_refused(server, sts, role):
    c = assume(sts, role)["Credentials"]
    no_token = client(server, "sts", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"])
    assert fails(no_token.get_caller_identity) == (
        403, "InvalidClientTokenId", "The security token included in the request is invalid.")


def test_wrong_session_token_is_refused(server, sts, role):
    c = dict(assume(sts, role)["Credentials"], SessionToken=CANARY)
    status, code, _ = fails(session_client(server, "sts", c).get_caller_identity)
    assert (status, code) == (403, "InvalidClientTokenId")
    status, code, _ = fails(session_client(server, "cloudtrail", c).lookup_events, MaxResults=1)
    assert (status, code) == (400, "UnrecognizedClientException")


def test_assumed_role_credentials_work(server, sts, role):
    out = assume(sts, role, RoleSessionName="worker")
    me = session_client(server, "sts", out["Credentials"]).get_caller_identity()
    assert me["Arn"] == out["AssumedRoleUser"]["Arn"]
    assert me["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"]
    assert me["Account"] == server.account_id


def test_assumed_role_credentials_work_cli(server, role, tmp_path):
    from conftest import AWS_CLI, cli_env, run_cli
    c = aws(server, "sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", "cli-worker")["Credentials"]
    f = tmp_path / "credentials"
    f.write_text(f"[rampart]\naws_access_key_id = {c['AccessKeyId']}\naws_secret_access_key = {c['SecretAccessKey']}\n"
                 f"aws_session_token = {c['SessionToken']}\n")
    res = run_cli([AWS_CLI, "--endpoint-url", server.endpoint, "--profile", "rampart", "sts", "get-caller-identity",
                   "--query", "Arn", "--output", "text"], cli_env(f))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"arn:aws:sts::{server.account_id}:assumed-role/{role['RoleName']}/cli-worker"


def test_session_token_credentials_work(server, sts):
    c = sts.get_session_token(DurationSeconds=900)["Credentials"]
    me = session_client(server, "sts", c).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{server.account_id}:user/admin"


def test_session_credentials_cannot_get_session_tokens(server, sts, role):
    c = assume(sts, role)["Credentials"]
    assert fails(session_client(server, "sts", c).get_session_token) == (
        403, "AccessDenied", "Cannot call GetSessionToken with session credentials")


def test_role_chaining_is_limited_to_an_hour(server, sts, role):
    c = assume(sts, role)["Credentials"]
    chained = session_client(server, "sts", c)
    assert fails(chained.assume_role, RoleArn=role["Arn"], RoleSessionName="xx", DurationSeconds=3601) == (
        400, "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")


def test_temporary_secrets_never_logged(server, sts, role):
    out = assume(sts, role)
    c = out["Credentials"]
    ev = wait_for_event(server, out["ResponseMetadata"]["RequestId"])
    assert (ev["eventSource"], ev["eventName"], ev["readOnly"]) == ("sts.amazonaws.com", "AssumeRole", True)
    assert ev["requestParameters"]["roleArn"] == role["Arn"]
    for secret in (c["SecretAccessKey"], c["SessionToken"]):
        assert secret not in server.stderr() and secret not in server.stdout()
        for r in trail_rows(server):
            assert secret not in r["record"]
        for f in server.data_dir.iterdir():
            if f.is_file() and f.name != "credentials":
                assert secret.encode() not in f.read_bytes(), f


def test_session_calls_carry_session_context_in_the_trail(server, sts, role):
    from conftest import request_id_of, wait_for_event
    c = assume(sts, role, RoleSessionName="trail-ctx")["Credentials"]
    r = session_client(server, "sts", c).get_caller_identity()
    ev = wait_for_event(server, request_id_of(r))
    ui = ev["userIdentity"]
    assert ui["type"] == "AssumedRole"
    assert ui["arn"].endswith(f":assumed-role/{role['RoleName']}/trail-ctx")
    assert ui["accessKeyId"] == c["AccessKeyId"]
    issuer = ui["sessionContext"]["sessionIssuer"]
    assert issuer["type"] == "Role" and issuer["userName"] == role["RoleName"]
    assert issuer["arn"] == f"arn:aws:iam::{server.account_id}:role/{role['RoleName']}"
    assert issuer["principalId"] == role["RoleId"]
    assert c["SessionToken"] not in json.dumps(ev)


# ---- GetFederationToken --------------------------------------------------------------------


def test_federation_token(server, iam, tmp_path):
    """A federated user session has what both the IAM user's policies and the session policy
    allow, and nothing without a session policy; it can't federate again."""
    user = uniq("fed")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:GetFederationToken", "Resource": "*"},
            {"Effect": "Allow", "Action": ["secretsmanager:ListSecrets", "kms:ListKeys"], "Resource": "*"}]}))
    k = iam.create_access_key(UserName=user)["AccessKey"]
    sts_u = client(server, "sts", aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])

    bare = sts_u.get_federation_token(Name="bob")
    assert bare["FederatedUser"] == {"FederatedUserId": f"{server.account_id}:bob",
                                     "Arn": f"arn:aws:sts::{server.account_id}:federated-user/bob"}
    assert "PackedPolicySize" not in bare
    c = bare["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    left = c["Expiration"] - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(hours=11, minutes=58) < left <= dt.timedelta(hours=12, seconds=5)
    who = session_client(server, "sts", c).get_caller_identity()
    assert (who["Arn"], who["UserId"]) == (bare["FederatedUser"]["Arn"], f"{server.account_id}:bob")
    # No session policy: no permissions at all.
    assert fails(session_client(server, "secretsmanager", c).list_secrets)[1] == "AccessDeniedException"

    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["secretsmanager:*", "kms:ListKeys"], "Resource": "*"}]})
    fed = sts_u.get_federation_token(Name="bob", Policy=policy, DurationSeconds=900,
                                     Tags=[{"Key": "team", "Value": "ops"}])
    assert 0 < fed["PackedPolicySize"] <= 100
    c = fed["Credentials"]
    sm = session_client(server, "secretsmanager", c)
    sm.list_secrets()
    session_client(server, "kms", c).list_keys()
    # The session policy allows creating secrets, the user's policy does not.
    status, code, msg = fails(sm.create_secret, Name=uniq("fed"), SecretString="x")
    assert code == "AccessDeniedException"
    assert f"federated-user/bob is not authorized to perform: secretsmanager:CreateSecret" in msg
    assert fails(session_client(server, "sts", c).get_federation_token, Name="again")[1] == "AccessDenied"
    # Whatever its policies, a federated session calls no IAM and no STS but GetCallerIdentity.
    wide = sts_u.get_federation_token(Name="wide", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))["Credentials"]
    assert fails(session_client(server, "iam", wide).list_users)[1] == "AccessDenied"
    assert fails(session_client(server, "sts", wide).get_session_token)[1] == "AccessDenied"
    session_client(server, "sts", wide).get_caller_identity()
    assert fails(sts_u.get_federation_token, Name="xx", Policy="{not json")[1] == "MalformedPolicyDocument"
    assert fails(sts_u.get_federation_token, Name="bob", DurationSeconds=129601)[1] == "ValidationError"

    # The trail names the federated user.
    rows = trail_rows(server, "event_name = 'ListSecrets' AND record LIKE ?", ("%federated-user/bob%",))
    assert rows and rows[-1]["event"]["userIdentity"]["type"] == "FederatedUser"

    # A user without sts:GetFederationToken is refused; the CLI works.
    iam.delete_user_policy(UserName=user, PolicyName="p")
    assert fails(sts_u.get_federation_token, Name="bob")[1] == "AccessDenied"
    out = aws(server, "sts", "get-federation-token", "--name", "cli", "--policy", policy)
    assert out["FederatedUser"]["Arn"].endswith(":federated-user/cli")
    iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    iam.delete_user(UserName=user)

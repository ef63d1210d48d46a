"""Authorization on the request path: a user with a narrow policy may do exactly what it allows,
explicit denies win, changes take effect on the next request, and refusals are in the trail
with the deciding policy."""
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import client, error_of, request_id_of, trail_rows, wait_for_event


def narrow_user(server, policy: dict):
    iam = client(server, "iam")
    name = "narrow-" + uuid.uuid4().hex[:8]
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="narrow", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    kw = dict(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    return name, kw


def allow(actions, resource="*", **extra):
    st = {"Sid": "Narrow", "Effect": "Allow", "Action": actions, "Resource": resource}
    st.update(extra)
    return {"Version": "2012-10-17", "Statement": [st]}


def test_user_may_do_exactly_what_its_policy_allows(server):
    name, kw = narrow_user(server, allow(["iam:GetUser", "iam:ListAccessKeys"], "arn:aws:iam::*:user/${aws:username}"))
    iam = client(server, "iam", **kw)
    assert iam.get_user()["User"]["UserName"] == name
    assert iam.get_user(UserName=name)["User"]["UserName"] == name
    iam.list_access_keys()
    with pytest.raises(ClientError) as e:
        iam.list_users()
    status, code, msg = error_of(e.value)
    assert (status, code) == (403, "AccessDenied")
    assert msg.startswith(f"User: arn:aws:iam::")
    assert f":user/{name} is not authorized to perform: iam:ListUsers" in msg
    assert "because no identity-based policy allows the iam:ListUsers action" in msg
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName="admin")
    assert error_of(e.value)[1] == "AccessDenied"
    # GetCallerIdentity needs no permission, as on AWS.
    assert client(server, "sts", **kw).get_caller_identity()["Arn"].endswith(f":user/{name}")
    # CloudTrail is not in the policy.
    with pytest.raises(ClientError) as e:
        client(server, "cloudtrail", **kw).lookup_events(MaxResults=1)
    status, code, _ = error_of(e.value)
    assert (status, code) == (400, "AccessDeniedException")


def test_refusal_is_in_the_trail_with_the_decision(server):
    name, kw = narrow_user(server, allow("iam:GetUser"))
    with pytest.raises(ClientError) as e:
        client(server, "iam", **kw).list_users()
    ev = wait_for_event(server, request_id_of(e.value))
    assert ev["errorCode"] == "AccessDenied"
    assert ev["userIdentity"]["userName"] == name
    assert ev["additionalEventData"]["authorization"]["decision"] == "ImplicitDeny"
    ok = client(server, "iam", **kw).get_user()
    ev = wait_for_event(server, request_id_of(ok))
    auth = ev["additionalEventData"]["authorization"]
    assert auth["decision"] == "Allow" and auth["policy"] == "narrow" and auth["sid"] == "Narrow"


def test_explicit_deny_wins_and_changes_apply_at_once(server):
    name, kw = narrow_user(server, allow("iam:*"))
    iam_user = client(server, "iam", **kw)
    iam_user.list_users()
    admin = client(server, "iam")
    deny = {"Version": "2012-10-17", "Statement": [
        {"Sid": "NoListing", "Effect": "Deny", "Action": "iam:List*", "Resource": "*"}]}
    admin.put_user_policy(UserName=name, PolicyName="deny", PolicyDocument=json.dumps(deny))
    with pytest.raises(ClientError) as e:
        iam_user.list_users()
    assert "with an explicit deny in an identity-based policy" in error_of(e.value)[2]
    iam_user.get_user()
    admin.delete_user_policy(UserName=name, PolicyName="deny")
    iam_user.list_users()


def test_conditions_see_the_request(server):
    # aws:SecureTransport is false over plain HTTP and true over HTTPS.
    name, kw = narrow_user(server, allow("iam:GetUser", Condition={"Bool": {"aws:SecureTransport": "true"}}))
    with pytest.raises(ClientError):
        client(server, "iam", **kw).get_user()
    assert client(server, "iam", https=True, **kw).get_user()["User"]["UserName"] == name
    name, kw = narrow_user(server, allow("iam:GetUser", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    with pytest.raises(ClientError):
        client(server, "iam", **kw).get_user()


def test_simulate_principal_policy_answers_from_the_same_evaluator(server):
    name, kw = narrow_user(server, allow(["iam:GetUser"], "arn:aws:iam::*:user/${aws:username}"))
    iam = client(server, "iam")
    arn = iam.get_user(UserName=name)["User"]["Arn"]
    r = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:GetUser", "iam:ListUsers"],
                                      ResourceArns=[arn])["EvaluationResults"]
    by_action = {x["EvalActionName"]: x for x in r}
    assert by_action["iam:GetUser"]["EvalDecision"] == "allowed"
    assert by_action["iam:GetUser"]["MatchedStatements"][0]["SourcePolicyId"] == "narrow"
    assert by_action["iam:GetUser"]["MatchedStatements"][0]["SourcePolicyType"] == "user"
    assert by_action["iam:ListUsers"]["EvalDecision"] == "implicitDeny"
    # The simulator agrees with what the request path does.
    with pytest.raises(ClientError):
        client(server, "iam", **kw).list_users()
    with pytest.raises(ClientError) as e:
        iam.simulate_principal_policy(PolicySourceArn=arn.replace(name, "nobody-here"), ActionNames=["iam:GetUser"])
    assert error_of(e.value)[1] == "NoSuchEntity"


def test_simulate_custom_policy_with_context(server):
    iam = client(server, "iam")
    policy = json.dumps(allow("s3:GetObject", "arn:aws:s3:::bucket/*",
                              Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}))
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "NoSecret", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/secret"}]})

    def decide(resource, ip):
        r = iam.simulate_custom_policy(
            PolicyInputList=[policy, deny], ActionNames=["s3:GetObject"], ResourceArns=[resource],
            ContextEntries=[{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": [ip], "ContextKeyType": "ip"}])
        return r["EvaluationResults"][0]["EvalDecision"]

    assert decide("arn:aws:s3:::bucket/a", "192.0.2.7") == "allowed"
    assert decide("arn:aws:s3:::bucket/a", "198.51.100.7") == "implicitDeny"
    assert decide("arn:aws:s3:::bucket/secret", "192.0.2.7") == "explicitDeny"
    with pytest.raises(ClientError) as e:
        iam.simulate_custom_policy(PolicyInputList=['{"Version": "2012-10-17", "Statement": 5}'],
                                   ActionNames=["s3:GetObject"])
    assert error_of(e.value)[1] == "MalformedPolicyDocument"


def test_simulate_with_the_cli(server):
    from conftest import aws
    policy = json.dumps(allow("iam:ListUsers"))
    out = aws(server, "iam", "simulate-custom-policy", "--policy-input-list", policy,
              "--action-names", "iam:ListUsers", "iam:DeleteUser")
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in out["EvaluationResults"]}
    assert decisions == {"iam:ListUsers": "allowed", "iam:DeleteUser": "implicitDeny"}


def test_request_tag_conditions(server):
    """aws:RequestTag/* and aws:TagKeys come from the request's Tags/TagKeys."""
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "TeamTagsOnly", "Effect": "Allow", "Action": ["iam:TagUser", "iam:UntagUser"], "Resource": "*",
        "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]},
                      "StringEqualsIfExists": {"aws:RequestTag/team": "blue"}}}]}
    name, kw = narrow_user(server, policy)
    iam = client(server, "iam", **kw)
    iam.tag_user(UserName=name, Tags=[{"Key": "team", "Value": "blue"}])
    with pytest.raises(ClientError):
        iam.tag_user(UserName=name, Tags=[{"Key": "team", "Value": "red"}])
    with pytest.raises(ClientError):
        iam.tag_user(UserName=name, Tags=[{"Key": "owner", "Value": "blue"}])
    iam.untag_user(UserName=name, TagKeys=["team"])
    with pytest.raises(ClientError):
        iam.untag_user(UserName=name, TagKeys=["owner"])


def test_secrets_manager_uses_kms_with_the_callers_permissions(server):
    """Secrets Manager calls KMS as the caller, with kms:ViaService set: the AWS managed key's
    policy lets anyone of the account use it through Secrets Manager (not directly), and a
    customer key is usable only when its policy and the caller's IAM policies allow it."""
    admin_sm = client(server, "secretsmanager")
    kms = client(server, "kms")
    name, kw = narrow_user(server, allow("secretsmanager:*"))
    sm = client(server, "secretsmanager", **kw)
    # The managed key works for a user with only Secrets Manager permissions...
    plain = "m-" + uuid.uuid4().hex[:8]
    sm.create_secret(Name=plain, SecretString="v1")
    assert sm.get_secret_value(SecretId=plain)["SecretString"] == "v1"
    managed = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert managed["KeyManager"] == "AWS"
    policy = json.loads(kms.get_key_policy(KeyId=managed["KeyId"], PolicyName="default")["Policy"])
    via = [s["Condition"] for s in policy["Statement"] if "Condition" in s]
    assert {"kms:CallerAccount": managed["AWSAccountId"],
            "kms:ViaService": f"secretsmanager.{server_region(kms)}.amazonaws.com"} in [c.get("StringEquals") for c in via]
    # ...but not directly, even for the administrator (its policy allows only via the service).
    with pytest.raises(ClientError) as e:
        kms.encrypt(KeyId="alias/aws/secretsmanager", Plaintext=b"x")
    assert error_of(e.value)[1] == "AccessDeniedException"

    # A customer key whose (default) policy delegates to IAM: the narrow user has no kms:*.
    key = kms.create_key(Description="secrets authz")["KeyMetadata"]["Arn"]
    cmk = "c-" + uuid.uuid4().hex[:8]
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name=cmk, SecretString="v1", KmsKeyId=key)
    status, code, msg = error_of(e.value)
    assert (code, msg) == ("AccessDeniedException", "Access to KMS is not allowed")
    # Nothing half-made: the name is still free for the administrator.
    admin_sm.create_secret(Name=cmk, SecretString="secret-of-admin", KmsKeyId=key)
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=cmk)
    assert error_of(e.value)[1:] == ("AccessDeniedException", "Access to KMS is not allowed")
    # The refusal is in the trail twice: the caller's GetSecretValue and the KMS Decrypt that
    # Secrets Manager made on its behalf.
    ev = wait_for_event(server, request_id_of(e.value))
    assert ev["errorCode"] == "AccessDeniedException"
    deadline = time.monotonic() + 10
    while True:
        kms_events = [r["event"] for r in trail_rows(server, "record LIKE ?", (f"%{key}%",))
                      if r["event"]["eventSource"] == "kms.amazonaws.com"
                      and r["event"].get("errorCode") == "AccessDeniedException"
                      and r["event"]["userIdentity"].get("invokedBy") == "secretsmanager.amazonaws.com"]
        if kms_events or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert {e["eventName"] for e in kms_events} >= {"GenerateDataKey", "Decrypt"}
    assert kms_events[0]["userIdentity"]["userName"] == name

    # Grant the user Decrypt through Secrets Manager only: reads work, direct Decrypt does not.
    iam = client(server, "iam")
    iam.put_user_policy(UserName=name, PolicyName="via", PolicyDocument=json.dumps(allow(
        ["kms:Decrypt"], key, Condition={"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}})))
    assert sm.get_secret_value(SecretId=cmk)["SecretString"] == "secret-of-admin"
    blob = kms.encrypt(KeyId=key, Plaintext=b"direct")["CiphertextBlob"]
    with pytest.raises(ClientError) as e:
        client(server, "kms", **kw).decrypt(CiphertextBlob=blob)
    assert error_of(e.value)[1] == "AccessDeniedException"
    # Writing needs GenerateDataKey, still not allowed.
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId=cmk, SecretString="v2")
    assert error_of(e.value)[1:] == ("AccessDeniedException", "Access to KMS is not allowed")
    assert admin_sm.get_secret_value(SecretId=cmk)["SecretString"] == "secret-of-admin"


def test_batch_read_checks_each_secret(server):
    admin_sm = client(server, "secretsmanager")
    tag = uuid.uuid4().hex[:8]
    mine, theirs = f"mine-{tag}", f"theirs-{tag}"
    admin_sm.create_secret(Name=mine, SecretString="mine")
    admin_sm.create_secret(Name=theirs, SecretString="theirs")
    region = server_region(admin_sm)
    _, kw = narrow_user(server, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:BatchGetSecretValue", "Resource": "*"},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": f"arn:aws:secretsmanager:{region}:*:secret:mine-{tag}-*"},
    ]})
    sm = client(server, "secretsmanager", **kw)
    r = sm.batch_get_secret_value(SecretIdList=[mine, theirs])
    assert [v["Name"] for v in r["SecretValues"]] == [mine]
    assert r["SecretValues"][0]["SecretString"] == "mine"
    assert len(r["Errors"]) == 1
    err = r["Errors"][0]
    assert err["SecretId"] == theirs
    assert err["ErrorCode"] == "AccessDeniedException"
    assert "secretsmanager:GetSecretValue" in err["Message"]
    assert "theirs" not in json.dumps(r["SecretValues"], default=str)


def server_region(c) -> str:
    return c.meta.region_name


def test_secret_resource_policy_is_enforced(server):
    """Same account: a secret's resource policy alone can allow a principal, and its explicit
    Deny beats the administrator's identity policy."""
    admin_sm = client(server, "secretsmanager")
    name, kw = narrow_user(server, allow("sts:GetCallerIdentity"))
    user_arn = client(server, "sts", **kw).get_caller_identity()["Arn"]
    sid = "rp-" + uuid.uuid4().hex[:8]
    arn = admin_sm.create_secret(Name=sid, SecretString="by-policy")["ARN"]
    sm = client(server, "secretsmanager", **kw)
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=sid)
    assert error_of(e.value)[1] == "AccessDeniedException"
    admin_sm.put_resource_policy(SecretId=sid, ResourcePolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Sid": "Reader", "Effect": "Allow", "Principal": {"AWS": user_arn},
             "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": "*"},
            {"Sid": "NoDelete", "Effect": "Deny", "Principal": "*",
             "Action": "secretsmanager:DeleteSecret", "Resource": "*"}]}))
    # The user reads through the policy (the AWS managed key allows use via Secrets Manager).
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "by-policy"
    assert sm.describe_secret(SecretId=sid)["Name"] == sid
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId=sid, SecretString="nope")
    assert error_of(e.value)[1] == "AccessDeniedException"
    # The explicit Deny stops the administrator too.
    with pytest.raises(ClientError) as e:
        admin_sm.delete_secret(SecretId=sid, ForceDeleteWithoutRecovery=True)
    status, code, msg = error_of(e.value)
    assert code == "AccessDeniedException"
    assert "explicit deny in a resource-based policy" in msg
    admin_sm.delete_resource_policy(SecretId=sid)
    admin_sm.delete_secret(SecretId=sid, ForceDeleteWithoutRecovery=True)

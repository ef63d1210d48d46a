"""Authorization on the request path: a user with a narrow policy may do exactly what it allows,
explicit denies win, changes take effect on the next request, and refusals are in the trail
with the deciding policy."""
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import client, error_of, request_id_of, wait_for_event


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

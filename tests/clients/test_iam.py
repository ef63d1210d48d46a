"""IAM through boto3 and the aws CLI: users, groups, roles, managed and inline policies, access
keys, tags, permissions boundaries and GetAccountAuthorizationDetails — round trips, AWS's error
codes and messages, the quotas (2 access keys, 5 policy versions), and access keys that work
for the next request and stop working right after they are deactivated or deleted."""
import json
import re
import uuid
import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError

from conftest import (AWS_CLI, FORM, aws, cli_env, client, error_of, raw_request, run_cli, trail_rows,
                      wait_for_event)

ALLOW_S3 = {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
ALLOW_IAM_READ = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}]}
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def trust(principal):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]}


@pytest.fixture(scope="module")
def iam(server):
    return client(server, "iam")


def fails(call, **kw):
    """(HTTP status, code, message) of a call expected to fail."""
    with pytest.raises(ClientError) as e:
        call(**kw)
    return error_of(e.value)


def cli_fails(server, *args):
    """The stderr of an aws CLI command expected to fail."""
    res = aws(server, *args, check=False)
    assert res.returncode != 0, res.stdout
    return res.stderr


def cli_as(server, tmp_path, akid, secret, *args):
    """Runs the aws CLI with another access key (profile `rampart` of a new credentials file)."""
    f = tmp_path / f"credentials-{akid}"
    f.write_text(f"[rampart]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n")
    argv = [AWS_CLI, "--endpoint-url", server.endpoint, "--profile", "rampart", "--output", "json", *args]
    return run_cli(argv, cli_env(f))


# ---- users ---------------------------------------------------------------------------------


def test_user_round_trip_boto3(server, iam):
    name = uniq("alice")
    u = iam.create_user(UserName=name, Path="/eng/", Tags=[{"Key": "team", "Value": "red"}])["User"]
    assert u["UserName"] == name and u["Path"] == "/eng/"
    assert u["Arn"] == f"arn:aws:iam::{server.account_id}:user/eng/{name}"
    assert re.fullmatch(r"AIDA[A-Z2-7]{16}", u["UserId"])
    assert u["Tags"] == [{"Key": "team", "Value": "red"}]
    got = iam.get_user(UserName=name)["User"]
    assert (got["UserId"], got["CreateDate"]) == (u["UserId"], u["CreateDate"])
    listed = iam.list_users(PathPrefix="/eng/")["Users"]
    assert name in [x["UserName"] for x in listed]
    assert all(x["Path"].startswith("/eng/") for x in listed)

    iam.tag_user(UserName=name, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "TEAM", "Value": "blue"}])
    tags = iam.list_user_tags(UserName=name)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("TEAM", "blue"), ("env", "dev")]
    iam.untag_user(UserName=name, TagKeys=["env"])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "TEAM", "Value": "blue"}]

    new = uniq("alicia")
    iam.update_user(UserName=name, NewUserName=new, NewPath="/ops/")
    assert iam.get_user(UserName=new)["User"]["Arn"] == f"arn:aws:iam::{server.account_id}:user/ops/{new}"
    assert fails(iam.get_user, UserName=name)[1] == "NoSuchEntity"
    iam.delete_user(UserName=new)
    assert fails(iam.get_user, UserName=new) == (404, "NoSuchEntity", f"The user with name {new} cannot be found.")


def test_user_round_trip_cli(server):
    name = uniq("bob")
    out = aws(server, "iam", "create-user", "--user-name", name)
    assert out["User"]["Arn"] == f"arn:aws:iam::{server.account_id}:user/{name}"
    assert aws(server, "iam", "get-user", "--user-name", name)["User"]["UserName"] == name
    names = aws(server, "iam", "list-users", "--query", "Users[].UserName")
    assert name in names and "admin" in names
    aws(server, "iam", "tag-user", "--user-name", name, "--tags", "Key=k,Value=v")
    assert aws(server, "iam", "list-user-tags", "--user-name", name)["Tags"] == [{"Key": "k", "Value": "v"}]
    assert aws(server, "iam", "delete-user", "--user-name", name) is None
    err = cli_fails(server, "iam", "get-user", "--user-name", name)
    assert f"(NoSuchEntity) when calling the GetUser operation: The user with name {name} cannot be found." in err


def test_user_errors(server, iam):
    name = uniq("carol")
    iam.create_user(UserName=name)
    # Names are unique regardless of case.
    assert fails(iam.create_user, UserName=name.upper()) == (
        409, "EntityAlreadyExists", f"User with name {name.upper()} already exists.")
    status, code, _ = fails(iam.create_user, UserName="bad name!")
    assert (status, code) == (400, "ValidationError")
    # Without a name, GetUser answers for the caller.
    me = iam.get_user()["User"]
    assert me["Arn"] == f"arn:aws:iam::{server.account_id}:user/admin"
    assert aws(server, "iam", "get-user", "--query", "User.UserName") == "admin"
    iam.delete_user(UserName=name)


def test_list_users_pages(server, iam):
    path = f"/{uniq('page')}/"
    names = sorted(uniq("pg") for _ in range(3))
    for n in names:
        iam.create_user(UserName=n, Path=path)
    first = iam.list_users(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["Users"]) == 2
    rest = iam.list_users(PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert rest["IsTruncated"] is False
    assert [u["UserName"] for u in first["Users"] + rest["Users"]] == names
    pages = iam.get_paginator("list_users").paginate(PathPrefix=path, PaginationConfig={"PageSize": 1})
    assert [u["UserName"] for p in pages for u in p["Users"]] == names
    for n in names:
        iam.delete_user(UserName=n)


def test_delete_user_conflicts(server, iam):
    name, group = uniq("dave"), uniq("grp")
    iam.create_user(UserName=name)
    iam.create_group(GroupName=group)
    key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(ALLOW_S3))
    iam.attach_user_policy(UserName=name, PolicyArn=ADMIN_ARN)
    iam.add_user_to_group(UserName=name, GroupName=group)
    steps = [
        ("Cannot delete entity, must delete access keys first.",
         lambda: iam.delete_access_key(UserName=name, AccessKeyId=key)),
        ("Cannot delete entity, must delete policies first.",
         lambda: iam.delete_user_policy(UserName=name, PolicyName="inline")),
        ("Cannot delete entity, must detach all policies first.",
         lambda: iam.detach_user_policy(UserName=name, PolicyArn=ADMIN_ARN)),
        ("Cannot delete entity, must remove user from all groups first.",
         lambda: iam.remove_user_from_group(UserName=name, GroupName=group)),
    ]
    for message, fix in steps:
        assert fails(iam.delete_user, UserName=name) == (409, "DeleteConflict", message)
        fix()
    iam.delete_user(UserName=name)
    iam.delete_group(GroupName=group)


def test_delete_conflict_cli(server):
    name = uniq("erin")
    aws(server, "iam", "create-user", "--user-name", name)
    aws(server, "iam", "create-access-key", "--user-name", name)
    err = cli_fails(server, "iam", "delete-user", "--user-name", name)
    assert "(DeleteConflict) when calling the DeleteUser operation: Cannot delete entity, must delete access keys first." in err
    for k in aws(server, "iam", "list-access-keys", "--user-name", name)["AccessKeyMetadata"]:
        aws(server, "iam", "delete-access-key", "--user-name", name, "--access-key-id", k["AccessKeyId"])
    aws(server, "iam", "delete-user", "--user-name", name)


# ---- groups --------------------------------------------------------------------------------


def test_groups_boto3(server, iam):
    group, user = uniq("devs"), uniq("frank")
    g = iam.create_group(GroupName=group, Path="/teams/")["Group"]
    assert re.fullmatch(r"AGPA[A-Z2-7]{16}", g["GroupId"])
    assert g["Arn"] == f"arn:aws:iam::{server.account_id}:group/teams/{group}"
    assert fails(iam.create_group, GroupName=group)[1:] == (
        "EntityAlreadyExists", f"Group with name {group} already exists.")
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    got = iam.get_group(GroupName=group)
    assert [u["UserName"] for u in got["Users"]] == [user]
    assert [x["GroupName"] for x in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    assert group in [x["GroupName"] for x in iam.list_groups(PathPrefix="/teams/")["Groups"]]
    assert fails(iam.delete_group, GroupName=group) == (
        409, "DeleteConflict", "Cannot delete entity, must remove users from group first.")
    iam.remove_user_from_group(GroupName=group, UserName=user)
    assert iam.list_groups_for_user(UserName=user)["Groups"] == []
    iam.delete_group(GroupName=group)
    assert fails(iam.get_group, GroupName=group) == (
        404, "NoSuchEntity", f"The group with name {group} cannot be found.")
    iam.delete_user(UserName=user)


def test_groups_cli(server):
    group, user = uniq("ops"), uniq("gina")
    aws(server, "iam", "create-group", "--group-name", group)
    aws(server, "iam", "create-user", "--user-name", user)
    aws(server, "iam", "add-user-to-group", "--group-name", group, "--user-name", user)
    assert aws(server, "iam", "get-group", "--group-name", group, "--query", "Users[].UserName") == [user]
    assert aws(server, "iam", "list-groups-for-user", "--user-name", user,
               "--query", "Groups[].GroupName") == [group]
    aws(server, "iam", "remove-user-from-group", "--group-name", group, "--user-name", user)
    aws(server, "iam", "delete-group", "--group-name", group)
    aws(server, "iam", "delete-user", "--user-name", user)


# ---- roles ---------------------------------------------------------------------------------


def test_roles_boto3(server, iam):
    name = uniq("app")
    doc = trust(f"arn:aws:iam::{server.account_id}:root")
    r = iam.create_role(RoleName=name, Path="/svc/", AssumeRolePolicyDocument=json.dumps(doc),
                        Description="an app", Tags=[{"Key": "a", "Value": "b"}])["Role"]
    assert re.fullmatch(r"AROA[A-Z2-7]{16}", r["RoleId"])
    assert r["Arn"] == f"arn:aws:iam::{server.account_id}:role/svc/{name}"
    assert r["AssumeRolePolicyDocument"] == doc
    got = iam.get_role(RoleName=name)["Role"]
    assert got["MaxSessionDuration"] == 3600 and got["Description"] == "an app"
    assert got["AssumeRolePolicyDocument"] == doc
    assert got["Tags"] == [{"Key": "a", "Value": "b"}]
    iam.update_role(RoleName=name, Description="changed", MaxSessionDuration=7200)
    got = iam.get_role(RoleName=name)["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("changed", 7200)
    new_doc = trust(f"arn:aws:iam::{server.account_id}:user/admin")
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(new_doc))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == new_doc
    assert name in [x["RoleName"] for x in iam.list_roles(PathPrefix="/svc/")["Roles"]]
    iam.tag_role(RoleName=name, Tags=[{"Key": "c", "Value": "d"}])
    iam.untag_role(RoleName=name, TagKeys=["a"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "c", "Value": "d"}]
    status, code, _ = fails(iam.update_role, RoleName=name, MaxSessionDuration=50000)
    assert (status, code) == (400, "ValidationError")
    assert fails(iam.create_role, RoleName=name, AssumeRolePolicyDocument=json.dumps(doc))[1:] == (
        "EntityAlreadyExists", f"Role with name {name} already exists.")
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(ALLOW_S3))
    assert fails(iam.delete_role, RoleName=name) == (
        409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
    iam.delete_role_policy(RoleName=name, PolicyName="p")
    iam.attach_role_policy(RoleName=name, PolicyArn=ADMIN_ARN)
    assert fails(iam.delete_role, RoleName=name)[2] == "Cannot delete entity, must detach all policies first."
    iam.detach_role_policy(RoleName=name, PolicyArn=ADMIN_ARN)
    iam.delete_role(RoleName=name)
    assert fails(iam.get_role, RoleName=name) == (404, "NoSuchEntity", f"The role with name {name} cannot be found.")


def test_trust_policy_is_validated(server, iam):
    name = uniq("bad")
    # An identity policy (no Principal) is not a trust policy.
    status, code, _ = fails(iam.create_role, RoleName=name, AssumeRolePolicyDocument=json.dumps(ALLOW_S3))
    assert (status, code) == (400, "MalformedPolicyDocument")
    status, code, _ = fails(iam.create_role, RoleName=name, AssumeRolePolicyDocument="{not json")
    assert (status, code) == (400, "MalformedPolicyDocument")
    assert fails(iam.get_role, RoleName=name)[1] == "NoSuchEntity"


def test_roles_cli(server):
    name = uniq("cli-role")
    doc = json.dumps(trust(f"arn:aws:iam::{server.account_id}:root"))
    out = aws(server, "iam", "create-role", "--role-name", name, "--assume-role-policy-document", doc,
              "--max-session-duration", "7200")
    assert out["Role"]["MaxSessionDuration"] == 7200
    got = aws(server, "iam", "get-role", "--role-name", name)["Role"]
    assert got["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    aws(server, "iam", "update-role", "--role-name", name, "--description", "via cli")
    assert aws(server, "iam", "get-role", "--role-name", name, "--query", "Role.Description") == "via cli"
    aws(server, "iam", "delete-role", "--role-name", name)


def test_permissions_boundaries(server, iam):
    user, role = uniq("bounded"), uniq("bounded-role")
    boundary = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    u = iam.create_user(UserName=user, PermissionsBoundary=boundary)["User"]
    assert u["PermissionsBoundary"] == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                                        "PermissionsBoundaryArn": boundary}
    iam.delete_user_permissions_boundary(UserName=user)
    assert "PermissionsBoundary" not in iam.get_user(UserName=user)["User"]
    missing = f"arn:aws:iam::{server.account_id}:policy/{uniq('none')}"
    assert fails(iam.put_user_permissions_boundary, UserName=user, PermissionsBoundary=missing)[:2] == (
        404, "NoSuchEntity")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust(server.account_id)))
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=boundary)
    assert iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    usage = iam.get_policy(PolicyArn=boundary)["Policy"]["PermissionsBoundaryUsageCount"]
    assert usage >= 1
    ents = iam.list_entities_for_policy(PolicyArn=boundary, PolicyUsageFilter="PermissionsBoundary")
    assert role in [r["RoleName"] for r in ents["PolicyRoles"]]
    iam.delete_role_permissions_boundary(RoleName=role)
    iam.delete_role(RoleName=role)
    iam.delete_user(UserName=user)


# ---- managed policies ----------------------------------------------------------------------


def test_managed_policy_versions_boto3(server, iam):
    name = uniq("s3read")
    p = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(ALLOW_S3), Description="read",
                          Tags=[{"Key": "t", "Value": "1"}])["Policy"]
    arn = p["Arn"]
    assert arn == f"arn:aws:iam::{server.account_id}:policy/{name}"
    assert re.fullmatch(r"ANPA[A-Z2-7]{16}", p["PolicyId"])
    assert (p["DefaultVersionId"], p["AttachmentCount"], p["IsAttachable"]) == ("v1", 0, True)
    assert fails(iam.create_policy, PolicyName=name, PolicyDocument=json.dumps(ALLOW_S3))[1:] == (
        "EntityAlreadyExists", f"A policy called {name} already exists. Duplicate names are not allowed.")
    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert got["Description"] == "read" and got["Tags"] == [{"Key": "t", "Value": "1"}]
    v1 = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert v1["Document"] == ALLOW_S3 and v1["IsDefaultVersion"] is True

    for n in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ALLOW_IAM_READ),
                                      SetAsDefault=(n == 4))["PolicyVersion"]
        assert v["VersionId"] == f"v{n}"
    assert fails(iam.create_policy_version, PolicyArn=arn, PolicyDocument=json.dumps(ALLOW_S3)) == (
        409, "LimitExceeded",
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v4"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v4"
    assert fails(iam.delete_policy_version, PolicyArn=arn, VersionId="v4") == (
        409, "DeleteConflict", "Cannot delete the default version of a policy.")
    assert fails(iam.get_policy_version, PolicyArn=arn, VersionId="v9") == (
        404, "NoSuchEntity", f"Policy {arn} version v9 does not exist or is not attachable.")
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert fails(iam.delete_policy, PolicyArn=arn)[1:] == (
        "DeleteConflict",
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. "
        "The default version is deleted with the policy.")
    for v in ("v2", "v3", "v4", "v5"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=v)
    # Version ids are not reused.
    assert iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ALLOW_S3))["PolicyVersion"][
        "VersionId"] == "v6"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v6")
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "u", "Value": "2"}])
    iam.untag_policy(PolicyArn=arn, TagKeys=["t"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "u", "Value": "2"}]
    assert arn in [x["Arn"] for x in iam.list_policies(Scope="Local")["Policies"]]
    iam.delete_policy(PolicyArn=arn)
    assert fails(iam.get_policy, PolicyArn=arn) == (404, "NoSuchEntity", f"Policy {arn} was not found.")


def test_managed_policy_versions_cli(server):
    name = uniq("cli-pol")
    arn = aws(server, "iam", "create-policy", "--policy-name", name, "--policy-document",
              json.dumps(ALLOW_S3), "--query", "Policy.Arn")
    for _ in range(4):
        aws(server, "iam", "create-policy-version", "--policy-arn", arn, "--policy-document", json.dumps(ALLOW_S3))
    err = cli_fails(server, "iam", "create-policy-version", "--policy-arn", arn, "--policy-document",
                    json.dumps(ALLOW_S3))
    assert "(LimitExceeded) when calling the CreatePolicyVersion operation: A managed policy can have up to 5 versions." in err
    doc = aws(server, "iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v3",
              "--query", "PolicyVersion.Document")
    assert doc == ALLOW_S3
    for v in ("v2", "v3", "v4", "v5"):
        aws(server, "iam", "delete-policy-version", "--policy-arn", arn, "--version-id", v)
    aws(server, "iam", "delete-policy", "--policy-arn", arn)


def test_malformed_and_oversized_policies(server, iam):
    for doc, message_part in [
        ("{not json", "Syntax errors in policy."),
        (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}),
         "Policy statement must contain actions."),
        (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                             "Principal": "*", "Resource": "*"}]}),
         "Policy document should not specify a principal."),
    ]:
        status, code, msg = fails(iam.create_policy, PolicyName=uniq("bad"), PolicyDocument=doc)
        assert (status, code) == (400, "MalformedPolicyDocument"), msg
        assert message_part in msg
    big = {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + "x" * 6200}]}
    assert fails(iam.create_policy, PolicyName=uniq("big"), PolicyDocument=json.dumps(big)) == (
        409, "LimitExceeded", "Cannot exceed quota for PolicySize: 6144")


def test_aws_managed_policies(server, iam):
    p = iam.get_policy(PolicyArn=ADMIN_ARN)["Policy"]
    assert (p["PolicyName"], p["DefaultVersionId"]) == ("AdministratorAccess", "v1")
    assert p["AttachmentCount"] >= 1  # the bootstrap administrator
    doc = iam.get_policy_version(PolicyArn=ADMIN_ARN, VersionId="v1")["PolicyVersion"]["Document"]
    assert doc == {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    aws_scope = [x["Arn"] for x in iam.list_policies(Scope="AWS")["Policies"]]
    assert ADMIN_ARN in aws_scope
    attached = [x["Arn"] for x in iam.list_policies(OnlyAttached=True)["Policies"]]
    assert ADMIN_ARN in attached
    status, code, _ = fails(iam.delete_policy, PolicyArn=ADMIN_ARN)
    assert (status, code) == (403, "AccessDenied")


# ---- attachments ---------------------------------------------------------------------------


def test_attach_detach_and_list(server, iam):
    user, group, role = uniq("att-u"), uniq("att-g"), uniq("att-r")
    arn = iam.create_policy(PolicyName=uniq("att"), PolicyDocument=json.dumps(ALLOW_S3))["Policy"]["Arn"]
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust(server.account_id)))
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)  # idempotent
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    name = arn.rsplit("/", 1)[1]
    want = [{"PolicyName": name, "PolicyArn": arn}]
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == want
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == want
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == want
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3
    ents = iam.list_entities_for_policy(PolicyArn=arn)
    assert [x["UserName"] for x in ents["PolicyUsers"]] == [user]
    assert [x["GroupName"] for x in ents["PolicyGroups"]] == [group]
    assert [x["RoleName"] for x in ents["PolicyRoles"]] == [role]
    only_roles = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert only_roles["PolicyUsers"] == [] and len(only_roles["PolicyRoles"]) == 1
    assert fails(iam.delete_policy, PolicyArn=arn) == (409, "DeleteConflict", "Cannot delete a policy attached to entities.")
    missing = f"arn:aws:iam::{server.account_id}:policy/{uniq('missing')}"
    assert fails(iam.attach_user_policy, UserName=user, PolicyArn=missing) == (
        404, "NoSuchEntity", f"Policy {missing} does not exist or is not attachable.")
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert fails(iam.detach_user_policy, UserName=user, PolicyArn=arn) == (
        404, "NoSuchEntity", f"Policy {arn} was not found.")
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    iam.delete_policy(PolicyArn=arn)
    iam.delete_user(UserName=user)
    iam.delete_group(GroupName=group)
    iam.delete_role(RoleName=role)


def test_attach_cli(server):
    user = uniq("att-cli")
    aws(server, "iam", "create-user", "--user-name", user)
    aws(server, "iam", "attach-user-policy", "--user-name", user, "--policy-arn", ADMIN_ARN)
    assert aws(server, "iam", "list-attached-user-policies", "--user-name", user)["AttachedPolicies"] == [
        {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_ARN}]
    users = aws(server, "iam", "list-entities-for-policy", "--policy-arn", ADMIN_ARN,
                "--query", "PolicyUsers[].UserName")
    assert user in users and "admin" in users
    aws(server, "iam", "detach-user-policy", "--user-name", user, "--policy-arn", ADMIN_ARN)
    aws(server, "iam", "delete-user", "--user-name", user)


def test_attached_policy_quota(server, iam):
    role = uniq("quota")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust(server.account_id)))
    arns = [iam.create_policy(PolicyName=uniq("q"), PolicyDocument=json.dumps(ALLOW_S3))["Policy"]["Arn"]
            for _ in range(11)]
    for a in arns[:10]:
        iam.attach_role_policy(RoleName=role, PolicyArn=a)
    assert fails(iam.attach_role_policy, RoleName=role, PolicyArn=arns[10]) == (
        409, "LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10")
    for a in arns[:10]:
        iam.detach_role_policy(RoleName=role, PolicyArn=a)
    for a in arns:
        iam.delete_policy(PolicyArn=a)
    iam.delete_role(RoleName=role)


# ---- inline policies -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["User", "Group", "Role"])
def test_inline_policies_boto3(server, iam, kind):
    name = uniq(kind.lower())
    if kind == "User":
        iam.create_user(UserName=name)
    elif kind == "Group":
        iam.create_group(GroupName=name)
    else:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust(server.account_id)))
    ident = {f"{kind}Name": name}
    put = getattr(iam, f"put_{kind.lower()}_policy")
    get = getattr(iam, f"get_{kind.lower()}_policy")
    lst = getattr(iam, f"list_{kind.lower()}_policies")
    delete = getattr(iam, f"delete_{kind.lower()}_policy")
    put(**ident, PolicyName="b", PolicyDocument=json.dumps(ALLOW_S3))
    put(**ident, PolicyName="a", PolicyDocument=json.dumps(ALLOW_IAM_READ, indent=2))
    got = get(**ident, PolicyName="a")
    assert got[f"{kind}Name"] == name and got["PolicyName"] == "a"
    assert got["PolicyDocument"] == ALLOW_IAM_READ
    assert lst(**ident)["PolicyNames"] == ["a", "b"]
    put(**ident, PolicyName="a", PolicyDocument=json.dumps(ALLOW_S3))  # replaces
    assert get(**ident, PolicyName="a")["PolicyDocument"] == ALLOW_S3
    assert fails(get, **ident, PolicyName="zz") == (
        404, "NoSuchEntity", f"The {kind.lower()} policy with name zz cannot be found.")
    status, code, _ = fails(put, **ident, PolicyName="bad", PolicyDocument='{"Statement": 1}')
    assert (status, code) == (400, "MalformedPolicyDocument")
    delete(**ident, PolicyName="a")
    delete(**ident, PolicyName="b")
    assert lst(**ident)["PolicyNames"] == []
    getattr(iam, f"delete_{kind.lower()}")(**ident)


def test_inline_policy_size_limit(server, iam):
    user = uniq("big")
    iam.create_user(UserName=user)
    doc = {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + "x" * 1100}]}
    iam.put_user_policy(UserName=user, PolicyName="one", PolicyDocument=json.dumps(doc))
    # The user's inline policies together may not exceed 2,048 characters.
    assert fails(iam.put_user_policy, UserName=user, PolicyName="two", PolicyDocument=json.dumps(doc)) == (
        409, "LimitExceeded", f"Maximum policy size of 2048 bytes exceeded for user {user}")
    iam.delete_user_policy(UserName=user, PolicyName="one")
    iam.delete_user(UserName=user)


def test_inline_policies_cli(server):
    user = uniq("inl-cli")
    aws(server, "iam", "create-user", "--user-name", user)
    aws(server, "iam", "put-user-policy", "--user-name", user, "--policy-name", "s3",
        "--policy-document", json.dumps(ALLOW_S3))
    assert aws(server, "iam", "get-user-policy", "--user-name", user, "--policy-name", "s3",
               "--query", "PolicyDocument") == ALLOW_S3
    assert aws(server, "iam", "list-user-policies", "--user-name", user)["PolicyNames"] == ["s3"]
    aws(server, "iam", "delete-user-policy", "--user-name", user, "--policy-name", "s3")
    aws(server, "iam", "delete-user", "--user-name", user)


def test_policy_documents_are_url_encoded_on_the_wire(server, iam):
    user = uniq("wire")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(ALLOW_S3))
    body = f"Action=GetUserPolicy&Version=2010-05-08&UserName={user}&PolicyName=p"
    r = raw_request(server, body=body.encode(), headers={"Content-Type": FORM}, service="iam")
    assert r.status == 200, r.data
    doc = ET.fromstring(r.data).findtext(".//{*}PolicyDocument")
    assert doc.startswith("%7B%22Version%22%3A%20%222012-10-17%22"), doc
    iam.delete_user_policy(UserName=user, PolicyName="p")
    iam.delete_user(UserName=user)


# ---- access keys ---------------------------------------------------------------------------


def test_access_keys_boto3(server, iam):
    user = uniq("keys")
    iam.create_user(UserName=user)
    k1 = iam.create_access_key(UserName=user)["AccessKey"]
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", k1["AccessKeyId"])
    assert len(k1["SecretAccessKey"]) == 40 and k1["Status"] == "Active" and k1["UserName"] == user
    k2 = iam.create_access_key(UserName=user)["AccessKey"]
    assert fails(iam.create_access_key, UserName=user) == (
        409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
    meta = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert sorted(m["AccessKeyId"] for m in meta) == sorted([k1["AccessKeyId"], k2["AccessKeyId"]])
    assert all("SecretAccessKey" not in m for m in meta)
    iam.update_access_key(UserName=user, AccessKeyId=k1["AccessKeyId"], Status="Inactive")
    status = {m["AccessKeyId"]: m["Status"] for m in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
    assert status == {k1["AccessKeyId"]: "Inactive", k2["AccessKeyId"]: "Active"}
    # Another user's key (or a key that does not exist) is not found.
    assert fails(iam.delete_access_key, UserName="admin", AccessKeyId=k1["AccessKeyId"]) == (
        404, "NoSuchEntity", f"The Access Key with id {k1['AccessKeyId']} cannot be found.")
    last = iam.get_access_key_last_used(AccessKeyId=k2["AccessKeyId"])
    assert last["UserName"] == user
    assert last["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}
    for k in (k1, k2):
        iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"] == []
    iam.delete_user(UserName=user)


def test_access_keys_cli(server):
    user = uniq("keys-cli")
    aws(server, "iam", "create-user", "--user-name", user)
    for _ in range(2):
        aws(server, "iam", "create-access-key", "--user-name", user)
    err = cli_fails(server, "iam", "create-access-key", "--user-name", user)
    assert "(LimitExceeded) when calling the CreateAccessKey operation: Cannot exceed quota for AccessKeysPerUser: 2" in err
    ids = aws(server, "iam", "list-access-keys", "--user-name", user, "--query", "AccessKeyMetadata[].AccessKeyId")
    assert len(ids) == 2
    aws(server, "iam", "update-access-key", "--user-name", user, "--access-key-id", ids[0], "--status", "Inactive")
    for akid in ids:
        aws(server, "iam", "delete-access-key", "--user-name", user, "--access-key-id", akid)
    aws(server, "iam", "delete-user", "--user-name", user)


def test_new_key_works_and_stops_right_away_boto3(server, iam):
    user = uniq("signer")
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    k = iam.create_access_key(UserName=user)["AccessKey"]
    sts = client(server, "sts", aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])
    me = sts.get_caller_identity()
    assert (me["Arn"], me["Account"]) == (arn, server.account_id)
    assert me["UserId"] == iam.get_user(UserName=user)["User"]["UserId"]
    iam.update_access_key(UserName=user, AccessKeyId=k["AccessKeyId"], Status="Inactive")
    assert fails(sts.get_caller_identity) == (
        403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    iam.update_access_key(UserName=user, AccessKeyId=k["AccessKeyId"], Status="Active")
    assert sts.get_caller_identity()["Arn"] == arn
    # Used just now, for STS.
    last = iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"])["AccessKeyLastUsed"]
    assert (last["ServiceName"], last["Region"]) == ("sts", "us-east-1")
    assert "LastUsedDate" in last
    iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    assert fails(sts.get_caller_identity)[:2] == (403, "InvalidClientTokenId")
    iam.delete_user(UserName=user)


def test_new_key_works_and_stops_right_away_cli(server, tmp_path):
    user = uniq("cli-signer")
    arn = aws(server, "iam", "create-user", "--user-name", user, "--query", "User.Arn")
    k = aws(server, "iam", "create-access-key", "--user-name", user)["AccessKey"]
    res = cli_as(server, tmp_path, k["AccessKeyId"], k["SecretAccessKey"], "sts", "get-caller-identity",
                 "--query", "Arn", "--output", "text")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == arn
    aws(server, "iam", "update-access-key", "--user-name", user, "--access-key-id", k["AccessKeyId"],
        "--status", "Inactive")
    res = cli_as(server, tmp_path, k["AccessKeyId"], k["SecretAccessKey"], "sts", "get-caller-identity")
    assert res.returncode != 0 and "InvalidClientTokenId" in res.stderr
    aws(server, "iam", "update-access-key", "--user-name", user, "--access-key-id", k["AccessKeyId"],
        "--status", "Active")
    aws(server, "iam", "put-user-policy", "--user-name", user, "--policy-name", "self", "--policy-document",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": arn}]}))
    res = cli_as(server, tmp_path, k["AccessKeyId"], k["SecretAccessKey"], "iam", "get-user")
    assert res.returncode == 0, res.stderr
    assert res.json["User"]["Arn"] == arn  # GetUser without a name: the caller
    aws(server, "iam", "delete-access-key", "--user-name", user, "--access-key-id", k["AccessKeyId"])
    res = cli_as(server, tmp_path, k["AccessKeyId"], k["SecretAccessKey"], "sts", "get-caller-identity")
    assert res.returncode != 0 and "InvalidClientTokenId" in res.stderr
    aws(server, "iam", "delete-user-policy", "--user-name", user, "--policy-name", "self")
    aws(server, "iam", "delete-user", "--user-name", user)


def test_secret_is_shown_once_and_never_logged(server, iam):
    user = uniq("secret")
    iam.create_user(UserName=user)
    resp = iam.create_access_key(UserName=user)
    k = resp["AccessKey"]
    # The secret is in the CreateAccessKey answer only: not in the trail, logs or store.
    ev = wait_for_event(server, resp["ResponseMetadata"]["RequestId"])
    assert (ev["eventSource"], ev["eventName"]) == ("iam.amazonaws.com", "CreateAccessKey")
    recorded = ev["responseElements"]["accessKey"]
    assert recorded["accessKeyId"] == k["AccessKeyId"]
    assert recorded["secretAccessKey"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    for r in trail_rows(server):
        assert k["SecretAccessKey"] not in r["record"]
    assert k["SecretAccessKey"] not in server.stderr()
    assert k["SecretAccessKey"] not in server.stdout()
    for f in server.data_dir.iterdir():
        if f.is_file() and f.name != "credentials":
            assert k["SecretAccessKey"].encode() not in f.read_bytes(), f
    iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    iam.delete_user(UserName=user)


# ---- the account, the trail, regions -------------------------------------------------------


def test_get_account_authorization_details(server, iam):
    user, role = uniq("gaad-u"), uniq("gaad-r")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(ALLOW_S3))
    doc = trust(f"arn:aws:iam::{server.account_id}:root")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(doc))
    arn = iam.create_policy(PolicyName=uniq("gaad"), PolicyDocument=json.dumps(ALLOW_S3))["Policy"]["Arn"]
    d = iam.get_account_authorization_details()
    users = {u["UserName"]: u for u in d["UserDetailList"]}
    assert users[user]["UserPolicyList"] == [{"PolicyName": "p", "PolicyDocument": ALLOW_S3}]
    assert users["admin"]["AttachedManagedPolicies"] == [{"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_ARN}]
    roles = {r["RoleName"]: r for r in d["RoleDetailList"]}
    assert roles[role]["AssumeRolePolicyDocument"] == doc
    policies = {p["Arn"]: p for p in d["Policies"]}
    assert policies[arn]["PolicyVersionList"][0]["Document"] == ALLOW_S3
    assert ADMIN_ARN in policies
    only_roles = iam.get_account_authorization_details(Filter=["Role"])
    assert only_roles["UserDetailList"] == [] and only_roles["RoleDetailList"]
    cli = aws(server, "iam", "get-account-authorization-details", "--filter", "User",
              "--query", "UserDetailList[].UserName")
    assert user in cli
    iam.delete_policy(PolicyArn=arn)
    iam.delete_role(RoleName=role)
    iam.delete_user_policy(UserName=user, PolicyName="p")
    iam.delete_user(UserName=user)


def test_authorization_details_and_policy_entities_page(server, iam):
    """GetAccountAuthorizationDetails and ListEntitiesForPolicy page by MaxItems/Marker: every
    entity once across the pages, IsTruncated on all but the last (boto3's paginators and the
    aws CLI's auto-paging both rely on it)."""
    arn = iam.create_policy(PolicyName=uniq("paged"), PolicyDocument=json.dumps(ALLOW_S3))["Policy"]["Arn"]
    users, groups = [uniq("pg-u") for _ in range(3)], [uniq("pg-g") for _ in range(2)]
    for u in users:
        iam.create_user(UserName=u)
        iam.attach_user_policy(UserName=u, PolicyArn=arn)
    for g in groups:
        iam.create_group(GroupName=g)
        iam.attach_group_policy(GroupName=g, PolicyArn=arn)
    seen, marker, pages = [], None, 0
    while True:
        kw = {"Marker": marker} if marker else {}
        r = iam.list_entities_for_policy(PolicyArn=arn, MaxItems=2, **kw)
        pages += 1
        seen += [x["UserName"] for x in r["PolicyUsers"]] + [x["GroupName"] for x in r["PolicyGroups"]]
        assert len(r["PolicyUsers"]) + len(r["PolicyGroups"]) + len(r["PolicyRoles"]) <= 2
        if not r["IsTruncated"]:
            assert "Marker" not in r
            break
        marker = r["Marker"]
    assert sorted(seen) == sorted(users + groups) and pages == 3
    pager = iam.get_paginator("get_account_authorization_details")
    names = []
    for page in pager.paginate(Filter=["User", "Group", "LocalManagedPolicy"], PaginationConfig={"PageSize": 2}):
        assert len(page["UserDetailList"]) + len(page["GroupDetailList"]) + len(page["Policies"]) <= 2
        names += [u["UserName"] for u in page["UserDetailList"]] + [g["GroupName"] for g in page["GroupDetailList"]]
    assert set(users + groups) <= set(names) and len(names) == len(set(names))
    full = iam.get_account_authorization_details(Filter=["User"])
    assert full["IsTruncated"] is False and set(users) <= {u["UserName"] for u in full["UserDetailList"]}
    cli = aws(server, "iam", "get-account-authorization-details", "--filter", "User", "--page-size", "1",
              "--query", "UserDetailList[].UserName")
    assert set(users) <= set(cli)
    with pytest.raises(ClientError) as e:
        iam.list_entities_for_policy(PolicyArn=arn, Marker="not-a-marker!")
    assert error_of(e.value)[1] == "InvalidInput"
    for u in users:
        iam.detach_user_policy(UserName=u, PolicyArn=arn)
        iam.delete_user(UserName=u)
    for g in groups:
        iam.detach_group_policy(GroupName=g, PolicyArn=arn)
        iam.delete_group(GroupName=g)
    iam.delete_policy(PolicyArn=arn)


def test_iam_events_in_the_trail(server, iam):
    user = uniq("trail")
    r = iam.create_user(UserName=user)
    ev = wait_for_event(server, r["ResponseMetadata"]["RequestId"])
    assert (ev["eventSource"], ev["eventName"], ev["readOnly"]) == ("iam.amazonaws.com", "CreateUser", False)
    assert ev["requestParameters"]["userName"] == user
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName=user + "-missing")
    ev = wait_for_event(server, e.value.response["ResponseMetadata"]["RequestId"])
    assert ev["errorCode"] == "NoSuchEntity"
    iam.delete_user(UserName=user)


def test_iam_is_global(server):
    # IAM answers whichever served region the request is signed for.
    other = client(server, "iam", region_name="eu-west-1")
    assert other.get_user()["User"]["UserName"] == "admin"


def test_account_summary(spawn):
    """GetAccountSummary counts what the account holds and gives AWS's quotas (a fresh server,
    so the counts are exact)."""
    srv = spawn("summary", dev=True)
    iam = client(srv, "iam")
    before = iam.get_account_summary()["SummaryMap"]
    assert before["UsersQuota"] == 5000 and before["RolesQuota"] == 1000 and before["PoliciesQuota"] == 1500
    assert before["AccessKeysPerUserQuota"] == 2 and before["VersionsPerPolicyQuota"] == 5
    assert before["AccountAccessKeysPresent"] == 0 and before["AccountMFAEnabled"] == 0
    iam.create_user(UserName="sum-a")
    iam.create_user(UserName="sum-b")
    iam.create_group(GroupName="sum-g")
    iam.create_role(RoleName="sum-r", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    arn = iam.create_policy(PolicyName="sum-p", PolicyDocument=doc)["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc)
    iam.create_virtual_mfa_device(VirtualMFADeviceName="sum-d")
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 2
    assert after["Groups"] == before["Groups"] + 1 and after["Roles"] == before["Roles"] + 1
    assert after["Policies"] == before["Policies"] + 1
    assert after["PolicyVersionsInUse"] == before["PolicyVersionsInUse"] + 2
    assert (after["MFADevices"], after["MFADevicesInUse"]) == (before["MFADevices"] + 1, before["MFADevicesInUse"])
    out = aws(srv, "iam", "get-account-summary")
    assert out["SummaryMap"]["Users"] == after["Users"]


def test_instance_profiles(server, iam):
    """Instance profiles as Terraform's aws_iam_instance_profile drives them: one role per
    profile, DeleteConflict both ways, tags, paging, and the CLI."""
    role, prof = uniq("ip-role"), uniq("ip")
    doc = trust(f"arn:aws:iam::{server.account_id}:root")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(doc))
    p = iam.create_instance_profile(InstanceProfileName=prof, Path="/apps/",
                                    Tags=[{"Key": "team", "Value": "web"}])["InstanceProfile"]
    assert re.fullmatch(r"AIPA[A-Z2-7]{16}", p["InstanceProfileId"])
    assert p["Arn"] == f"arn:aws:iam::{server.account_id}:instance-profile/apps/{prof}" and p["Roles"] == []
    with pytest.raises(ClientError) as e:
        iam.create_instance_profile(InstanceProfileName=prof.upper())
    assert error_of(e.value)[1] == "EntityAlreadyExists"
    iam.add_role_to_instance_profile(InstanceProfileName=prof, RoleName=role)
    with pytest.raises(ClientError) as e:
        iam.add_role_to_instance_profile(InstanceProfileName=prof, RoleName=role)
    assert error_of(e.value)[1] == "LimitExceeded"
    with pytest.raises(ClientError) as e:
        iam.add_role_to_instance_profile(InstanceProfileName=prof, RoleName=role + "-missing")
    assert error_of(e.value)[1] == "NoSuchEntity"
    got = iam.get_instance_profile(InstanceProfileName=prof)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role] and got["Tags"] == [{"Key": "team", "Value": "web"}]
    assert [x["InstanceProfileName"] for x in iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]] == [prof]
    assert prof in [x["InstanceProfileName"] for x in iam.list_instance_profiles(PathPrefix="/apps/")["InstanceProfiles"]]
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=role)
    assert error_of(e.value)[1] == "DeleteConflict"
    with pytest.raises(ClientError) as e:
        iam.delete_instance_profile(InstanceProfileName=prof)
    assert error_of(e.value)[1] == "DeleteConflict"
    details = iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
    listed = {r["RoleName"]: r for r in details}[role]["InstanceProfileList"]
    assert [x["InstanceProfileName"] for x in listed] == [prof]
    iam.tag_instance_profile(InstanceProfileName=prof, Tags=[{"Key": "env", "Value": "ci"}])
    iam.untag_instance_profile(InstanceProfileName=prof, TagKeys=["team"])
    assert iam.list_instance_profile_tags(InstanceProfileName=prof)["Tags"] == [{"Key": "env", "Value": "ci"}]
    cli = aws(server, "iam", "list-instance-profiles-for-role", "--role-name", role,
              "--query", "InstanceProfiles[].Arn")
    assert cli == [p["Arn"]]
    iam.remove_role_from_instance_profile(InstanceProfileName=prof, RoleName=role)
    with pytest.raises(ClientError) as e:
        iam.remove_role_from_instance_profile(InstanceProfileName=prof, RoleName=role)
    assert error_of(e.value)[1] == "NoSuchEntity"
    iam.delete_instance_profile(InstanceProfileName=prof)
    with pytest.raises(ClientError) as e:
        iam.get_instance_profile(InstanceProfileName=prof)
    assert error_of(e.value)[1] == "NoSuchEntity"
    iam.delete_role(RoleName=role)


def test_adding_a_role_to_an_instance_profile_passes_it(server, iam):
    """AddRoleToInstanceProfile needs iam:PassRole on the role, as on AWS."""
    user, role, prof = uniq("ip-user"), uniq("ip-pass"), uniq("ip-prof")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust(f"arn:aws:iam::{server.account_id}:root")))
    iam.create_instance_profile(InstanceProfileName=prof)
    iam.create_user(UserName=user)
    base = ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile"]
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": base, "Resource": "*"}]}))
    k = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = client(server, "iam", aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        as_user.add_role_to_instance_profile(InstanceProfileName=prof, RoleName=role)
    assert error_of(e.value)[1] == "AccessDenied" and "iam:PassRole" in str(e.value)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": base, "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{server.account_id}:role/{role}"}]}))
    as_user.add_role_to_instance_profile(InstanceProfileName=prof, RoleName=role)
    as_user.remove_role_from_instance_profile(InstanceProfileName=prof, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=prof)
    iam.delete_role(RoleName=role)
    iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    iam.delete_user_policy(UserName=user, PolicyName="p")
    iam.delete_user(UserName=user)

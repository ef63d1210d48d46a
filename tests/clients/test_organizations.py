"""AWS Organizations through boto3 and the aws CLI: the bootstrapped account creates an
organization, creates member accounts, and reaches them through the role CreateAccount makes
(OrganizationAccountAccessRole), as on AWS. Each member account is a separate tenant; reaching
it needs both the role's trust policy and the caller's own identity policy."""
import json
import re

import pytest
from botocore.exceptions import ClientError

from conftest import aws, client, error_of, trail_rows


@pytest.fixture(scope="module")
def org_server(servers):
    s = servers.start("organizations")
    yield s
    s.stop()


def assumed(server, role_arn, **kw):
    creds = client(server, "sts", **kw).assume_role(RoleArn=role_arn, RoleSessionName="ops")["Credentials"]
    return dict(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"])


def test_organization_and_member_accounts(org_server):
    s = org_server
    org = client(s, "organizations")
    with pytest.raises(ClientError) as e:
        org.describe_organization()
    assert error_of(e.value)[1] == "AWSOrganizationsNotInUseException"
    with pytest.raises(ClientError) as e:
        org.create_account(Email="dev@example.com", AccountName="dev")
    assert error_of(e.value)[1] == "AWSOrganizationsNotInUseException"

    o = org.create_organization(FeatureSet="ALL")["Organization"]
    assert re.fullmatch(r"o-[a-z0-9]{10}", o["Id"])
    assert o["MasterAccountId"] == s.account_id
    assert o["Arn"] == f"arn:aws:organizations::{s.account_id}:organization/{o['Id']}"
    assert o["FeatureSet"] == "ALL"
    with pytest.raises(ClientError) as e:
        org.create_organization()
    assert error_of(e.value)[1] == "AlreadyInOrganizationException"
    assert org.describe_organization()["Organization"]["Id"] == o["Id"]

    st = org.create_account(Email="dev@example.com", AccountName="dev",
                            Tags=[{"Key": "team", "Value": "a"}])["CreateAccountStatus"]
    assert st["State"] == "SUCCEEDED" and re.fullmatch(r"car-[a-z0-9]{32}", st["Id"])
    dev = st["AccountId"]
    assert re.fullmatch(r"\d{12}", dev) and dev != s.account_id
    again = org.describe_create_account_status(CreateAccountRequestId=st["Id"])["CreateAccountStatus"]
    assert again["AccountId"] == dev and again["AccountName"] == "dev"
    with pytest.raises(ClientError) as e:
        org.describe_create_account_status(CreateAccountRequestId="car-" + "0" * 32)
    assert error_of(e.value)[1] == "CreateAccountStatusNotFoundException"

    dup = org.create_account(Email="DEV@example.com", AccountName="dev2")["CreateAccountStatus"]
    assert dup["State"] == "FAILED" and dup["FailureReason"] == "EMAIL_ALREADY_EXISTS"
    failed = org.list_create_account_status(States=["FAILED"])["CreateAccountStatuses"]
    assert [x["Id"] for x in failed] == [dup["Id"]]

    accounts = org.list_accounts()["Accounts"]
    assert sorted(a["Id"] for a in accounts) == sorted([s.account_id, dev])
    d = org.describe_account(AccountId=dev)["Account"]
    assert d["Name"] == "dev" and d["Email"] == "dev@example.com" and d["JoinedMethod"] == "CREATED"
    assert d["Status"] == "ACTIVE" and d["Arn"].endswith(f"/{o['Id']}/{dev}")
    with pytest.raises(ClientError) as e:
        org.describe_account(AccountId="123456789012")
    assert error_of(e.value)[1] == "AccountNotFoundException"
    # Paging: one account per page, every account once.
    seen, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = org.list_accounts(MaxResults=1, **kw)
        seen += [a["Id"] for a in page["Accounts"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted([s.account_id, dev])
    with pytest.raises(ClientError) as e:
        org.list_accounts(MaxResults=21)
    assert error_of(e.value)[0] == 400

    # The member account is reached through the role CreateAccount made in it.
    role = f"arn:aws:iam::{dev}:role/OrganizationAccountAccessRole"
    member = assumed(s, role)
    ident = client(s, "sts", **member).get_caller_identity()
    assert ident["Account"] == dev
    assert ident["Arn"] == f"arn:aws:sts::{dev}:assumed-role/OrganizationAccountAccessRole/ops"
    # A separate tenant: its own secrets and keys, invisible from the management account.
    sm_dev = client(s, "secretsmanager", **member)
    arn = sm_dev.create_secret(Name="shared/db", SecretString="s3cr3t")["ARN"]
    assert f":{dev}:secret:shared/db-" in arn
    assert client(s, "secretsmanager").list_secrets()["SecretList"] == []
    key = client(s, "kms", **member).create_key()["KeyMetadata"]
    assert key["AWSAccountId"] == dev
    # A member account manages nothing of the organization.
    org_dev = client(s, "organizations", **member)
    with pytest.raises(ClientError) as e:
        org_dev.list_accounts()
    assert error_of(e.value)[1] == "AccessDeniedException"
    assert org_dev.describe_organization()["Organization"]["MasterAccountId"] == s.account_id
    with pytest.raises(ClientError) as e:
        org_dev.create_organization()
    assert error_of(e.value)[1] == "AlreadyInOrganizationException"

    # Cross-account needs both sides: the trust policy names the management account, so a user
    # of it without an identity policy allowing sts:AssumeRole is refused.
    iam = client(s, "iam")
    iam.create_user(UserName="nobody")
    k = iam.create_access_key(UserName="nobody")["AccessKey"]
    with pytest.raises(ClientError) as e:
        assumed(s, role, aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])
    assert error_of(e.value)[1] == "AccessDenied"
    iam.put_user_policy(UserName="nobody", PolicyName="hop", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}]}))
    hop = assumed(s, role, aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])
    assert client(s, "sts", **hop).get_caller_identity()["Account"] == dev

    events = trail_rows(s, "event_name = 'CreateAccount'")
    assert events and all(e["event_source"] == "organizations.amazonaws.com" for e in events)
    with pytest.raises(ClientError) as e:
        org.delete_organization()
    assert error_of(e.value)[1] == "OrganizationNotEmptyException"


def test_cli(org_server):
    s = org_server
    aws(s, "organizations", "describe-organization")  # made by the test above, or:
    st = aws(s, "organizations", "create-account", "--email", "ci@example.com", "--account-name", "ci",
             "--role-name", "Admin")["CreateAccountStatus"]
    assert st["State"] == "SUCCEEDED"
    roots = aws(s, "organizations", "list-roots")["Roots"]
    assert len(roots) == 1 and roots[0]["Id"].startswith("r-")
    listed = aws(s, "organizations", "list-accounts")["Accounts"]
    assert st["AccountId"] in {a["Id"] for a in listed}
    creds = aws(s, "sts", "assume-role", "--role-arn", f"arn:aws:iam::{st['AccountId']}:role/Admin",
                "--role-session-name", "cli")["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")

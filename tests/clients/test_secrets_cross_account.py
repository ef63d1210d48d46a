"""Secrets Manager cross-account replication through boto3 and the aws CLI: a member account of the organization creates a replica of a primary secret of the
management account, the management account associates it, values flow on every change, and
both sides stop replication from their own side. Accepting replication into the replica needs
both the replica's resource policy and the caller's identity policies."""
import json
import shutil
import time
from pathlib import Path

import botocore
import pytest
from botocore.exceptions import ClientError

from conftest import AWS_CLI, cli_env, client, error_of, run_cli, trail_rows


@pytest.fixture(scope="module")
def accounts(servers):
    s = servers.start("secrets-cross-account")
    org = client(s, "organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="replica@example.com", AccountName="replica")["CreateAccountStatus"]
    role = f"arn:aws:iam::{member['AccountId']}:role/OrganizationAccountAccessRole"
    c = client(s, "sts").assume_role(RoleArn=role, RoleSessionName="replica")["Credentials"]
    creds = dict(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                 aws_session_token=c["SessionToken"])
    yield s, member["AccountId"], creds
    s.stop()


def code(exc):
    return error_of(exc.value)[1]


def both_events(s, name, rid):
    """The trail rows of request `rid` (the caller's event and the owner's copy), waited for:
    read-only events reach the store within a few milliseconds."""
    deadline = time.monotonic() + 10
    while True:
        rows = [r for r in trail_rows(s, "event_name = ?", (name,)) if r["event"]["requestID"] == rid]
        if len(rows) >= 2 or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_replicate_to_another_account(accounts):
    s, b_account, b_creds = accounts
    sm_a = client(s, "secretsmanager")
    sm_b = client(s, "secretsmanager", **b_creds)
    primary = sm_a.create_secret(Name="app/db", SecretString="v1")
    key_b = client(s, "kms", **b_creds).create_key(Description="replica key")["KeyMetadata"]["Arn"]

    # Creating the replica in account B: what may and may not go with CrossAccountPrimaryARN.
    with pytest.raises(ClientError) as e:
        sm_b.create_secret(Name="app/db", CrossAccountPrimaryARN=primary["ARN"], KmsKeyId=key_b, SecretString="x")
    assert code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        sm_b.create_secret(Name="app/db", CrossAccountPrimaryARN=primary["ARN"])
    assert code(e) == "InvalidParameterException" and "customer managed" in str(e.value)
    with pytest.raises(ClientError) as e:
        sm_a.create_secret(Name="self", CrossAccountPrimaryARN=primary["ARN"], KmsKeyId="alias/x")
    assert code(e) == "InvalidParameterException"
    replica = sm_b.create_secret(Name="app/db", CrossAccountPrimaryARN=primary["ARN"], KmsKeyId=key_b,
                                 Tags=[{"Key": "side", "Value": "replica"}])
    assert "VersionId" not in replica and f":{b_account}:secret:app/db-" in replica["ARN"]
    d = sm_b.describe_secret(SecretId="app/db")
    assert d["CrossAccountPrimary"] == {"PrimarySecretARN": primary["ARN"], "ReplicationStatus": "Pending"}
    names = [p["PolicyName"] for p in sm_b.list_resource_policies(SecretId="app/db")["ResourcePolicies"]]
    assert names == ["cross-account-replication"]
    with pytest.raises(ClientError) as e:
        sm_b.get_secret_value(SecretId="app/db")
    assert code(e) == "ResourceNotFoundException"

    # Associating, from the primary's account.
    with pytest.raises(ClientError) as e:
        sm_a.associate_cross_account_replica(SecretId="app/db", CrossAccountReplicaARN=replica["ARN"] + "x")
    assert code(e) == "ResourceNotFoundException"
    out = sm_a.associate_cross_account_replica(SecretId="app/db", CrossAccountReplicaARN=replica["ARN"])
    assert out["ARN"] == primary["ARN"] and out["ReplicationStatus"] == "InSync"
    again = sm_a.associate_cross_account_replica(SecretId="app/db", CrossAccountReplicaARN=replica["ARN"])
    assert again["ReplicationStatus"] == "InSync"  # idempotent
    entry = sm_a.describe_secret(SecretId="app/db")["CrossAccountReplicas"]
    assert [(x["ReplicaSecretARN"], x["ReplicationStatus"]) for x in entry] == [(replica["ARN"], "InSync")]
    got = sm_b.get_secret_value(SecretId="app/db")
    assert got["SecretString"] == "v1" and got["VersionId"] == primary["VersionId"]
    assert sm_b.describe_secret(SecretId="app/db")["CrossAccountPrimary"]["ReplicationStatus"] == "InSync"

    # Every change of the primary's value flows; the replica's value is read-only, the rest its own.
    v2 = sm_a.put_secret_value(SecretId="app/db", SecretString="v2")["VersionId"]
    assert sm_b.get_secret_value(SecretId="app/db")["SecretString"] == "v2"
    prev = sm_b.get_secret_value(SecretId="app/db", VersionStage="AWSPREVIOUS")
    assert prev["SecretString"] == "v1" and sm_b.get_secret_value(SecretId="app/db")["VersionId"] == v2
    with pytest.raises(ClientError) as e:
        sm_b.put_secret_value(SecretId="app/db", SecretString="mine")
    assert code(e) == "InvalidRequestException"
    with pytest.raises(ClientError) as e:
        sm_b.update_secret_version_stage(SecretId="app/db", VersionStage="AWSCURRENT",
                                         MoveToVersionId=primary["VersionId"], RemoveFromVersionId=v2)
    assert code(e) == "InvalidRequestException"
    sm_b.tag_resource(SecretId="app/db", Tags=[{"Key": "owner", "Value": "b"}])
    # The replica is encrypted under account B's key, the primary under A's.
    versions = sm_b.list_secret_version_ids(SecretId="app/db")["Versions"]
    assert {v["VersionId"] for v in versions} == {primary["VersionId"], v2}

    # At most one cross-account replica; a replicated primary cannot be deleted.
    other = sm_b.create_secret(Name="app/db2", CrossAccountPrimaryARN=primary["ARN"], KmsKeyId=key_b)
    with pytest.raises(ClientError) as e:
        sm_a.associate_cross_account_replica(SecretId="app/db", CrossAccountReplicaARN=other["ARN"])
    assert code(e) == "InvalidRequestException"
    with pytest.raises(ClientError) as e:
        sm_a.delete_secret(SecretId="app/db", ForceDeleteWithoutRecovery=True)
    assert code(e) == "InvalidRequestException"

    # Disassociating: the replica keeps its values, gets no more and shows Detached.
    sm_a.disassociate_cross_account_replica(SecretId="app/db", CrossAccountReplicaARN=replica["ARN"])
    assert "CrossAccountReplicas" not in sm_a.describe_secret(SecretId="app/db")
    sm_a.put_secret_value(SecretId="app/db", SecretString="v3")
    assert sm_b.get_secret_value(SecretId="app/db")["SecretString"] == "v2"
    assert sm_b.describe_secret(SecretId="app/db")["CrossAccountPrimary"]["ReplicationStatus"] == "Detached"
    with pytest.raises(ClientError) as e:
        sm_b.delete_secret(SecretId="app/db", ForceDeleteWithoutRecovery=True)
    assert code(e) == "InvalidRequestException"
    # Stopping from the replica's side makes it a standalone secret of account B.
    assert sm_b.stop_replication_to_replica(SecretId="app/db")["ARN"] == replica["ARN"]
    d = sm_b.describe_secret(SecretId="app/db")
    assert "CrossAccountPrimary" not in d
    assert sm_b.list_resource_policies(SecretId="app/db")["ResourcePolicies"] == []
    sm_b.put_secret_value(SecretId="app/db", SecretString="own")
    assert sm_b.get_secret_value(SecretId="app/db")["SecretString"] == "own"
    sm_b.delete_secret(SecretId="app/db", ForceDeleteWithoutRecovery=True)
    sm_a.delete_secret(SecretId="app/db", ForceDeleteWithoutRecovery=True)


def test_accepting_replication_needs_both_sides(accounts):
    s, b_account, b_creds = accounts
    sm_a = client(s, "secretsmanager")
    sm_b = client(s, "secretsmanager", **b_creds)
    primary = sm_a.create_secret(Name="svc/token", SecretString="t1")
    key_b = client(s, "kms", **b_creds).create_key()["KeyMetadata"]["Arn"]
    replica = sm_b.create_secret(Name="svc/token", CrossAccountPrimaryARN=primary["ARN"], KmsKeyId=key_b)

    # A user of the primary's account allowed to associate and read, but not to accept
    # replication into the other account's secret: refused.
    iam = client(s, "iam")
    iam.create_user(UserName="replicator")
    k = iam.create_access_key(UserName="replicator")["AccessKey"]
    allow = ["secretsmanager:AssociateCrossAccountReplica", "secretsmanager:GetSecretValue",
             "secretsmanager:DescribeSecret"]
    iam.put_user_policy(UserName="replicator", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": allow, "Resource": "*"}]}))
    sm_u = client(s, "secretsmanager", aws_access_key_id=k["AccessKeyId"],
                  aws_secret_access_key=k["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        sm_u.associate_cross_account_replica(SecretId="svc/token", CrossAccountReplicaARN=replica["ARN"])
    assert code(e) == "AccessDeniedException"
    assert "secretsmanager:AcceptCrossAccountReplication" in str(e.value)
    assert "CrossAccountPrimary" in sm_b.describe_secret(SecretId="svc/token")
    assert sm_b.describe_secret(SecretId="svc/token")["CrossAccountPrimary"]["ReplicationStatus"] == "Pending"

    # Its identity policy allows it now; the replica's own policy then denies it explicitly.
    iam.put_user_policy(UserName="replicator", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*",
                                                "Action": allow + ["secretsmanager:AcceptCrossAccountReplication"]}]}))
    deny = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{s.account_id}:user/replicator"},
        "Action": "secretsmanager:AcceptCrossAccountReplication", "Resource": "*"}]})
    sm_b.put_resource_policy(SecretId="svc/token", ResourcePolicy=deny)
    with pytest.raises(ClientError) as e:
        sm_u.associate_cross_account_replica(SecretId="svc/token", CrossAccountReplicaARN=replica["ARN"])
    assert code(e) == "AccessDeniedException"
    sm_b.delete_resource_policy(SecretId="svc/token")
    out = sm_u.associate_cross_account_replica(SecretId="svc/token", CrossAccountReplicaARN=replica["ARN"],
                                               ReplicaRestriction="SameOrg")
    assert out["ReplicationStatus"] == "InSync"
    assert sm_b.get_secret_value(SecretId="svc/token")["SecretString"] == "t1"
    # A rotation-style change made by the service itself flows too.
    sm_a.update_secret(SecretId="svc/token", SecretString="t2")
    assert sm_b.get_secret_value(SecretId="svc/token")["SecretString"] == "t2"


def test_another_accounts_secret_and_key_by_arn(accounts):
    """A secret and a KMS key of the management account used from the member account by their
    ARNs: the resource's policy and the caller's identity policies must both allow."""
    s, b_account, b_creds = accounts
    a = s.account_id
    kms_a = client(s, "kms")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{a}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Member", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b_account}:root"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"], "Resource": "*"}]}
    shared_key = kms_a.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    private_key = kms_a.create_key()["KeyMetadata"]["Arn"]
    kms_b = client(s, "kms", **b_creds)

    # KMS: the key policy lets the member account in; its admin role's identity policy allows.
    assert kms_b.describe_key(KeyId=shared_key)["KeyMetadata"]["AWSAccountId"] == a
    blob = kms_b.encrypt(KeyId=shared_key, Plaintext=b"cross")["CiphertextBlob"]
    assert kms_b.decrypt(KeyId=shared_key, CiphertextBlob=blob)["Plaintext"] == b"cross"
    assert kms_a.decrypt(CiphertextBlob=blob)["Plaintext"] == b"cross"
    # Without KeyId the ciphertext names its key, and so its owner, as on AWS.
    assert kms_b.decrypt(CiphertextBlob=blob)["Plaintext"] == b"cross"
    private_blob = kms_a.encrypt(KeyId=private_key, Plaintext=b"p")["CiphertextBlob"]
    with pytest.raises(ClientError) as e:
        kms_b.decrypt(CiphertextBlob=private_blob)
    assert code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        kms_b.encrypt(KeyId=private_key, Plaintext=b"x")
    assert code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        kms_b.schedule_key_deletion(KeyId=shared_key)  # not an operation across accounts
    assert code(e) in ("NotFoundException", "AccessDeniedException")

    # Secrets Manager: no resource policy, no access from the other account.
    sm_a = client(s, "secretsmanager")
    sm_b = client(s, "secretsmanager", **b_creds)
    shared = sm_a.create_secret(Name="shared/api", SecretString="token", KmsKeyId=shared_key)["ARN"]
    with pytest.raises(ClientError) as e:
        sm_b.get_secret_value(SecretId=shared)
    assert code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        sm_b.get_secret_value(SecretId="shared/api")  # a name is always the caller's own account
    assert code(e) == "ResourceNotFoundException"
    # Another account's secret that does not exist is refused, not reported missing.
    with pytest.raises(ClientError) as e:
        sm_b.get_secret_value(SecretId=shared.replace("shared/api", "shared/nothing"))
    assert code(e) == "AccessDeniedException"
    sm_a.put_resource_policy(SecretId=shared, ResourcePolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b_account}:root"},
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": "*"}]}))
    assert sm_b.get_secret_value(SecretId=shared)["SecretString"] == "token"
    assert sm_b.describe_secret(SecretId=shared)["Name"] == "shared/api"
    with pytest.raises(ClientError) as e:
        sm_b.put_secret_value(SecretId=shared, SecretString="mine")
    assert code(e) == "AccessDeniedException"

    # The member account's user without an identity policy of its own: refused, although the
    # secret's policy trusts its account.
    iam_b = client(s, "iam", **b_creds)
    iam_b.create_user(UserName="app")
    k = iam_b.create_access_key(UserName="app")["AccessKey"]
    sm_app = client(s, "secretsmanager", aws_access_key_id=k["AccessKeyId"],
                    aws_secret_access_key=k["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        sm_app.get_secret_value(SecretId=shared)
    assert code(e) == "AccessDeniedException"
    iam_b.put_user_policy(UserName="app", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": shared},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": shared_key}]}))
    assert sm_app.get_secret_value(SecretId=shared)["SecretString"] == "token"

    # Under the AWS managed key, a secret can't be read from another account (its key policy
    # admits only its own account's principals), as on AWS.
    managed = sm_a.create_secret(Name="shared/managed", SecretString="m")["ARN"]
    sm_a.put_resource_policy(SecretId=managed, ResourcePolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b_account}:root"},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    with pytest.raises(ClientError) as e:
        sm_b.get_secret_value(SecretId=managed)
    assert code(e) == "AccessDeniedException" and "Access to KMS is not allowed" in str(e.value)


def test_reencrypt_across_accounts(accounts):
    """ReEncrypt with its source or destination key in another account, named by ARN (the
    source also by the ciphertext alone): kms:ReEncryptFrom and kms:ReEncryptTo are each
    decided by their own key's policy with the caller's identity policies, as AWS does."""
    s, b_account, b_creds = accounts
    a = s.account_id
    kms_a = client(s, "kms")
    kms_b = client(s, "kms", **b_creds)

    def policy(actions):
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{a}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "Member", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b_account}:root"},
             "Action": actions, "Resource": "*"}]})

    src_a = kms_a.create_key(Policy=policy(["kms:ReEncryptFrom"]))["KeyMetadata"]
    dst_a = kms_a.create_key(Policy=policy(["kms:ReEncryptTo"]))["KeyMetadata"]["Arn"]
    private_a = kms_a.create_key()["KeyMetadata"]["Arn"]
    key_b = kms_b.create_key()["KeyMetadata"]["Arn"]
    ctx = {"purpose": "move"}
    blob_a = kms_a.encrypt(KeyId=src_a["Arn"], Plaintext=b"from a", EncryptionContext=ctx)["CiphertextBlob"]

    # Source in the other account, found from the ciphertext; destination the caller's own.
    out = kms_b.re_encrypt(CiphertextBlob=blob_a, SourceEncryptionContext=ctx, DestinationKeyId=key_b)
    assert out["SourceKeyId"] == src_a["Arn"] and out["KeyId"] == key_b
    assert kms_b.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == b"from a"
    # Named by ARN, or by its bare id when the ciphertext names the same key.
    for source in (src_a["Arn"], src_a["KeyId"]):
        out = kms_b.re_encrypt(CiphertextBlob=blob_a, SourceKeyId=source, SourceEncryptionContext=ctx,
                               DestinationKeyId=key_b)
        assert out["SourceKeyId"] == src_a["Arn"]
    with pytest.raises(ClientError) as e:  # the wrong context still fails as it would at home
        kms_b.re_encrypt(CiphertextBlob=blob_a, DestinationKeyId=key_b)
    assert code(e) == "InvalidCiphertextException"

    # Destination in the other account: the owner decrypts the result.
    blob_b = kms_b.encrypt(KeyId=key_b, Plaintext=b"from b")["CiphertextBlob"]
    out = kms_b.re_encrypt(CiphertextBlob=blob_b, DestinationKeyId=dst_a, DestinationEncryptionContext=ctx)
    assert out["KeyId"] == dst_a and out["SourceKeyId"] == key_b
    assert kms_a.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext=ctx)["Plaintext"] == b"from b"

    # Each key's own policy decides: ReEncryptFrom is not ReEncryptTo, a key without a grant to
    # the account refuses, and a key of the account that does not exist is refused too.
    refused = [
        dict(CiphertextBlob=blob_b, DestinationKeyId=src_a["Arn"]),
        dict(CiphertextBlob=blob_b, DestinationKeyId=private_a),
        dict(CiphertextBlob=blob_b, DestinationKeyId=private_a.rsplit("/", 1)[0] + "/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12),
        dict(CiphertextBlob=kms_a.encrypt(KeyId=private_a, Plaintext=b"p")["CiphertextBlob"], DestinationKeyId=key_b),
        dict(CiphertextBlob=kms_a.encrypt(KeyId=dst_a, Plaintext=b"p")["CiphertextBlob"], DestinationKeyId=key_b),
    ]
    for kw in refused:
        with pytest.raises(ClientError) as e:
            kms_b.re_encrypt(**kw)
        assert code(e) == "AccessDeniedException", kw

    # The caller's trail and the other key owner's both hold the call.
    rows = both_events(s, "ReEncrypt", out["ResponseMetadata"]["RequestId"])
    assert {r["account_id"] for r in rows} == {a, b_account}
    assert len({r["event"]["sharedEventID"] for r in rows}) == 1


def test_cli_with_botocores_current_model(accounts, tmp_path):
    """The aws CLI 1.46 vendors an older botocore whose Secrets Manager model lacks the
    cross-account operations; given botocore 1.44.5's model (AWS_DATA_PATH, the CLI's own
    mechanism for newer models) it drives them like every other command."""
    s, b_account, b_creds = accounts
    model = Path(botocore.__file__).parent / "data" / "secretsmanager"
    shutil.copytree(model, tmp_path / "models" / "secretsmanager")

    def cli(env, *args):
        env = dict(env, AWS_DATA_PATH=str(tmp_path / "models"))
        res = run_cli([AWS_CLI, "--endpoint-url", s.endpoint, "--output", "json", *args], env)
        assert res.returncode == 0, f"aws {' '.join(args)}: {res.stderr}"
        return res.json

    env_a = dict(cli_env(s.credentials_file), AWS_PROFILE="rampart")
    env_b = dict(cli_env(s.credentials_file), AWS_ACCESS_KEY_ID=b_creds["aws_access_key_id"],
                 AWS_SECRET_ACCESS_KEY=b_creds["aws_secret_access_key"],
                 AWS_SESSION_TOKEN=b_creds["aws_session_token"])
    primary = cli(env_a, "secretsmanager", "create-secret", "--name", "cli/db", "--secret-string", "c1")["ARN"]
    key = cli(env_b, "kms", "create-key")["KeyMetadata"]["Arn"]
    replica = cli(env_b, "secretsmanager", "create-secret", "--name", "cli/db", "--kms-key-id", key,
                  "--cross-account-primary-arn", primary)["ARN"]
    out = cli(env_a, "secretsmanager", "associate-cross-account-replica", "--secret-id", "cli/db",
              "--cross-account-replica-arn", replica, "--replica-restriction", "SameOrg")
    assert out["ReplicationStatus"] == "InSync"
    assert cli(env_b, "secretsmanager", "get-secret-value", "--secret-id", "cli/db")["SecretString"] == "c1"
    cli(env_a, "secretsmanager", "disassociate-cross-account-replica", "--secret-id", "cli/db",
        "--cross-account-replica-arn", replica)
    assert cli(env_b, "secretsmanager", "stop-replication-to-replica", "--secret-id", "cli/db")["ARN"] == replica


def test_principal_org_id_condition(accounts):
    """`aws:PrincipalOrgID` in a resource policy admits every account of the organization."""
    s, b_account, b_creds = accounts
    org_id = client(s, "organizations").describe_organization()["Organization"]["Id"]
    a = s.account_id
    policy = lambda org: json.dumps({"Version": "2012-10-17", "Statement": [  # noqa: E731
        {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{a}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Org", "Effect": "Allow", "Principal": "*", "Action": ["kms:Encrypt", "kms:DescribeKey"],
         "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": org}}}]})
    kms_a = client(s, "kms")
    key = kms_a.create_key(Policy=policy(org_id))["KeyMetadata"]["Arn"]
    kms_b = client(s, "kms", **b_creds)
    assert kms_b.describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key
    kms_b.encrypt(KeyId=key, Plaintext=b"org")
    kms_a.put_key_policy(KeyId=key, Policy=policy("o-0000000000"))
    with pytest.raises(ClientError) as e:
        kms_b.encrypt(KeyId=key, Plaintext=b"org")
    assert code(e) == "AccessDeniedException"


def test_cross_account_calls_reach_both_trails(accounts):
    """A call on another account's resource leaves an event in the caller's account and one in
    the owner's, sharing a sharedEventID, as CloudTrail delivers them."""
    s, b_account, b_creds = accounts
    sm_a = client(s, "secretsmanager")
    arn = sm_a.create_secret(Name="trail/shared", SecretString="t")["ARN"]
    sm_a.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b_account}:root"},
            "Action": "secretsmanager:DescribeSecret", "Resource": "*"}]}))
    rid = client(s, "secretsmanager", **b_creds).describe_secret(SecretId=arn)["ResponseMetadata"]["RequestId"]
    rows = both_events(s, "DescribeSecret", rid)
    by_account = {r["account_id"]: r["event"] for r in rows}
    assert set(by_account) == {s.account_id, b_account}
    mine, theirs = by_account[b_account], by_account[s.account_id]
    assert mine["sharedEventID"] == theirs["sharedEventID"] and mine["eventID"] != theirs["eventID"]
    assert theirs["recipientAccountId"] == s.account_id
    assert theirs["userIdentity"]["accountId"] == b_account
    assert theirs["resources"][0]["accountId"] == s.account_id

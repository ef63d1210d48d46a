"""Secrets Manager through boto3 and the aws CLI: CreateSecret/DescribeSecret/GetSecretValue/
PutSecretValue/UpdateSecret with lookup by name, full ARN and partial ARN; staging labels
(AWSCURRENT, AWSPREVIOUS, custom labels, UpdateSecretVersionStage) and ClientRequestToken
idempotency; ListSecrets filters, sorting and paging; ListSecretVersionIds; deletion with a
recovery window, RestoreSecret and forced deletion; tags; resource policies; GetRandomPassword;
BatchGetSecretValue; KMS envelope encryption (custom keys, disabled keys, KMS's own trail
events); rotation with the built-in random rotator and a local-command rotator that calls back
with boto3; concurrency; persistence across a restart; secret values never in the trail."""
import glob
import json
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from unittest import mock

import pytest
from botocore.exceptions import ClientError

import conftest
from conftest import AWS_CLI, CANARY, aws, cli_env, client, error_of, run_cli, trail_rows

NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED = "You can't perform this operation on the secret because it was marked for deletion."
ARN_RE = re.compile(r"^arn:aws:secretsmanager:us-east-1:(\d{12}):secret:(.+)-([A-Za-z0-9]{6})$")


def uniq(prefix="test/secret"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def value(tag="v"):
    """A secret value the trail and the logs must never show (test_zz_no_secrets looks too)."""
    return f"{CANARY}-{tag}-{uuid.uuid4().hex[:8]}"


def fails(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return error_of(e.value)


@pytest.fixture(scope="module")
def sm(server):
    return client(server, "secretsmanager")


@pytest.fixture(scope="module")
def kms(server):
    return client(server, "kms")


def stages(sm, sid):
    return sm.describe_secret(SecretId=sid).get("VersionIdsToStages", {})


def current_of(sm, sid):
    return [v for v, s in stages(sm, sid).items() if "AWSCURRENT" in s]


# --------------------------------------------------------------------------------------------
# Create, describe, get


def test_create_describe_get(sm, server):
    name, val = uniq(), value()
    token = str(uuid.uuid4())
    r = sm.create_secret(Name=name, SecretString=val, Description="db password",
                         Tags=[{"Key": "team", "Value": "core"}], ClientRequestToken=token)
    m = ARN_RE.match(r["ARN"])
    assert m and m.group(1) == server.account_id and m.group(2) == name
    assert (r["Name"], r["VersionId"]) == (name, token)
    d = sm.describe_secret(SecretId=name)
    assert d["ARN"] == r["ARN"] and d["Description"] == "db password"
    assert d["Tags"] == [{"Key": "team", "Value": "core"}]
    assert d["VersionIdsToStages"] == {token: ["AWSCURRENT"]}
    assert "KmsKeyId" not in d and "DeletedDate" not in d and d["RotationEnabled"] is False
    assert "CreatedDate" in d and "LastChangedDate" in d
    g = sm.get_secret_value(SecretId=name)
    assert (g["SecretString"], g["VersionId"], g["VersionStages"], g["ARN"]) == (val, token, ["AWSCURRENT"], r["ARN"])
    assert "SecretBinary" not in g
    # Reading sets LastAccessedDate (to the day; written in the background).
    deadline = time.time() + 5
    while "LastAccessedDate" not in sm.describe_secret(SecretId=name) and time.time() < deadline:
        time.sleep(0.05)
    la = sm.describe_secret(SecretId=name)["LastAccessedDate"]
    assert la.hour == 0 and la.minute == 0


def test_lookup_by_name_full_and_partial_arn(sm, server):
    name = uniq("app/db")
    arn = sm.create_secret(Name=name, SecretString=value())["ARN"]
    partial = arn[:-7]
    for sid in (name, arn, partial):
        assert sm.describe_secret(SecretId=sid)["ARN"] == arn
        assert sm.get_secret_value(SecretId=sid)["ARN"] == arn
    # A wrong suffix, another region's ARN, or a prefix of the name: not found.
    for sid in (partial + "-ZZZZZZ", arn.replace("us-east-1", "eu-west-1"), name[:-2]):
        status, code, msg = fails(sm.describe_secret, SecretId=sid)
        assert (status, code, msg) == (400, "ResourceNotFoundException", NOT_FOUND)
    # Secrets are regional.
    eu = client(server, "secretsmanager", region_name="eu-west-1")
    assert fails(eu.get_secret_value, SecretId=name)[1] == "ResourceNotFoundException"


def test_binary_secret(sm):
    name = uniq()
    blob = os.urandom(300)
    sm.create_secret(Name=name, SecretBinary=blob)
    g = sm.get_secret_value(SecretId=name)
    assert g["SecretBinary"] == blob and "SecretString" not in g


def test_secret_without_value(sm):
    name = uniq()
    r = sm.create_secret(Name=name)
    assert "VersionId" not in r
    assert "VersionIdsToStages" not in sm.describe_secret(SecretId=name)
    status, code, msg = fails(sm.get_secret_value, SecretId=name)
    assert (code, msg) == ("ResourceNotFoundException",
                           "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
    # The first value gets AWSCURRENT whatever labels are asked for.
    v = sm.put_secret_value(SecretId=name, SecretString=value(), VersionStages=["custom"])
    assert sorted(v["VersionStages"]) == ["AWSCURRENT", "custom"]


def test_create_errors(sm):
    name = uniq()
    sm.create_secret(Name=name, SecretString=value())
    status, code, msg = fails(sm.create_secret, Name=name, SecretString=value())
    assert (status, code, msg) == (400, "ResourceExistsException", f"The operation failed because the secret {name} already exists.")
    status, code, msg = fails(sm.create_secret, Name=uniq(), SecretString="a", SecretBinary=b"b")
    assert (code, msg) == ("InvalidParameterException",
                           "You can't specify both a binary secret value and a string secret value in the same secret.")
    assert fails(sm.create_secret, Name="bad name!", SecretString="x")[1] == "InvalidParameterException"
    assert fails(sm.describe_secret, SecretId=uniq())[1:] == ("ResourceNotFoundException", NOT_FOUND)


def test_model_limits(sm):
    assert fails(sm.create_secret, Name="n" * 513, SecretString="x")[1] == "ValidationException"
    assert fails(sm.create_secret, Name=uniq(), SecretString="x" * 65537)[1] == "ValidationException"
    assert fails(sm.create_secret, Name=uniq(), SecretBinary=b"x" * 65537)[1] == "ValidationException"
    assert fails(sm.create_secret, Name=uniq(), Description="d" * 2049)[1] == "ValidationException"
    # The limits themselves are accepted.
    name = uniq()
    sm.create_secret(Name=name, SecretString="y" * 65536, Description="d" * 2048)
    assert len(sm.get_secret_value(SecretId=name)["SecretString"]) == 65536
    assert fails(sm.put_resource_policy, SecretId=name, ResourcePolicy="{" + " " * 20480 + "}")[1] == "ValidationException"


def test_create_idempotent_with_token(sm):
    name, val, token = uniq(), value(), str(uuid.uuid4())
    a = sm.create_secret(Name=name, SecretString=val, ClientRequestToken=token)
    b = sm.create_secret(Name=name, SecretString=val, ClientRequestToken=token)
    assert (a["ARN"], a["VersionId"]) == (b["ARN"], b["VersionId"])
    assert fails(sm.create_secret, Name=name, SecretString=value(), ClientRequestToken=token)[1] == "ResourceExistsException"


# --------------------------------------------------------------------------------------------
# Versions and staging labels


def test_put_moves_current_and_previous(sm):
    name = uniq()
    v1 = sm.create_secret(Name=name, SecretString=value("1"))["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString=value("2"))
    assert v2["VersionStages"] == ["AWSCURRENT"]
    v2 = v2["VersionId"]
    assert stages(sm, name) == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    v3 = sm.put_secret_value(SecretId=name, SecretString=value("3"))["VersionId"]
    # v1 lost its last label: deprecated, listed only with IncludeDeprecated.
    assert stages(sm, name) == {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}
    listed = {v["VersionId"] for v in sm.list_secret_version_ids(SecretId=name)["Versions"]}
    assert listed == {v2, v3}
    listed = {v["VersionId"]: v for v in sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]}
    assert set(listed) == {v1, v2, v3} and listed[v1]["VersionStages"] == []
    assert all(len(v["KmsKeyIds"]) == 1 for v in listed.values())
    # Reads by stage and by id.
    prev = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert prev["VersionId"] == v2 and "-2-" in prev["SecretString"]
    assert "-1-" in sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"]
    status, code, msg = fails(sm.get_secret_value, SecretId=name, VersionId=v1, VersionStage="AWSCURRENT")
    assert (code, msg) == ("InvalidRequestException", "You provided a VersionStage that is not associated to the provided VersionId.")
    missing = str(uuid.uuid4())
    assert fails(sm.get_secret_value, SecretId=name, VersionId=missing)[1:] == (
        "ResourceNotFoundException", f"Secrets Manager can't find the specified secret value for VersionId: {missing}")
    assert fails(sm.get_secret_value, SecretId=name, VersionStage="nope")[1:] == (
        "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: nope")


def test_put_custom_stages_and_idempotency(sm):
    name = uniq()
    v1 = sm.create_secret(Name=name, SecretString=value())["VersionId"]
    token, val = str(uuid.uuid4()), value("blue")
    r = sm.put_secret_value(SecretId=name, SecretString=val, ClientRequestToken=token, VersionStages=["blue"])
    assert (r["VersionId"], r["VersionStages"]) == (token, ["blue"])
    assert stages(sm, name) == {v1: ["AWSCURRENT"], token: ["blue"]}
    # Same token, same value: nothing changes.
    again = sm.put_secret_value(SecretId=name, SecretString=val, ClientRequestToken=token)
    assert (again["VersionId"], again["VersionStages"]) == (token, ["blue"])
    assert stages(sm, name) == {v1: ["AWSCURRENT"], token: ["blue"]}
    # Same token, another value: refused.
    status, code, msg = fails(sm.put_secret_value, SecretId=name, SecretString=value(), ClientRequestToken=token)
    assert (code, msg) == ("ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
    # Moving a custom label to a new version takes it from the old one.
    v3 = sm.put_secret_value(SecretId=name, SecretString=value(), VersionStages=["blue", "AWSCURRENT"])["VersionId"]
    st = stages(sm, name)
    assert sorted(st[v3]) == ["AWSCURRENT", "blue"] and st[v1] == ["AWSPREVIOUS"] and token not in st
    assert fails(sm.put_secret_value, SecretId=name)[1] == "InvalidRequestException"
    too_many = [f"label{i}" for i in range(21)]
    assert fails(sm.put_secret_value, SecretId=name, SecretString="x", VersionStages=too_many)[1] in (
        "LimitExceededException", "ValidationException")


def test_update_secret(sm, kms):
    name = uniq()
    v1 = sm.create_secret(Name=name, SecretString=value(), Description="one")["VersionId"]
    r = sm.update_secret(SecretId=name, Description="two")
    assert "VersionId" not in r
    assert sm.describe_secret(SecretId=name)["Description"] == "two"
    assert stages(sm, name) == {v1: ["AWSCURRENT"]}
    key = kms.create_key()["KeyMetadata"]
    r = sm.update_secret(SecretId=name, SecretString=value("new"), KmsKeyId=key["KeyId"])
    assert stages(sm, name) == {v1: ["AWSPREVIOUS"], r["VersionId"]: ["AWSCURRENT"]}
    assert sm.describe_secret(SecretId=name)["KmsKeyId"] == key["KeyId"]
    assert "-new-" in sm.get_secret_value(SecretId=name)["SecretString"]
    # The labeled versions are re-encrypted under the new key, as AWS does.
    versions = {v["VersionId"]: v for v in sm.list_secret_version_ids(SecretId=name)["Versions"]}
    assert versions[r["VersionId"]]["KmsKeyIds"] == [key["Arn"]]
    assert versions[v1]["KmsKeyIds"] == [key["Arn"]]
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["VersionId"] == v1
    # An empty KmsKeyId goes back to the AWS managed key (re-encrypting again).
    sm.update_secret(SecretId=name, KmsKeyId="")
    assert "KmsKeyId" not in sm.describe_secret(SecretId=name)
    versions = {v["VersionId"]: v for v in sm.list_secret_version_ids(SecretId=name)["Versions"]}
    assert versions[v1]["KmsKeyIds"] != [key["Arn"]]
    assert "-new-" in sm.get_secret_value(SecretId=name)["SecretString"]


def test_update_secret_version_stage(sm):
    name = uniq()
    v1 = sm.create_secret(Name=name, SecretString=value())["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString=value())["VersionId"]
    # Moving AWSCURRENT needs RemoveFromVersionId naming the version that has it.
    status, code, msg = fails(sm.update_secret_version_stage, SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v1)
    assert code == "InvalidParameterException"
    assert msg == (f"The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to "
                   f"version {v2}, so you must explicitly reference that version in RemoveFromVersionId.")
    assert fails(sm.update_secret_version_stage, SecretId=name, VersionStage="AWSCURRENT",
                 MoveToVersionId=v1, RemoveFromVersionId=v1)[1] == "InvalidParameterException"
    # Roll back: AWSCURRENT to v1, AWSPREVIOUS follows to v2.
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v1, RemoveFromVersionId=v2)
    assert stages(sm, name) == {v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}
    # Custom labels: attach, move, remove.
    sm.update_secret_version_stage(SecretId=name, VersionStage="green", MoveToVersionId=v2)
    assert sorted(stages(sm, name)[v2]) == ["AWSPREVIOUS", "green"]
    assert fails(sm.update_secret_version_stage, SecretId=name, VersionStage="green", MoveToVersionId=v1)[1] == "InvalidParameterException"
    sm.update_secret_version_stage(SecretId=name, VersionStage="green", MoveToVersionId=v1, RemoveFromVersionId=v2)
    assert sorted(stages(sm, name)[v1]) == ["AWSCURRENT", "green"]
    sm.update_secret_version_stage(SecretId=name, VersionStage="green", RemoveFromVersionId=v1)
    assert stages(sm, name) == {v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}
    # AWSCURRENT can't be removed without a new home; versions must exist.
    assert fails(sm.update_secret_version_stage, SecretId=name, VersionStage="AWSCURRENT", RemoveFromVersionId=v1)[1] == "InvalidParameterException"
    assert fails(sm.update_secret_version_stage, SecretId=name, VersionStage="x", MoveToVersionId=str(uuid.uuid4()))[1] == "InvalidParameterException"
    # 20 labels across the secret's versions at most (AWSPREVIOUS on v2 counts).
    for i in range(17):
        sm.update_secret_version_stage(SecretId=name, VersionStage=f"l{i}", MoveToVersionId=v1)
    assert len(stages(sm, name)[v1]) == 18
    sm.update_secret_version_stage(SecretId=name, VersionStage="l17", MoveToVersionId=v1)
    assert fails(sm.update_secret_version_stage, SecretId=name, VersionStage="l18", MoveToVersionId=v1)[1] == "LimitExceededException"
    assert fails(sm.update_secret_version_stage, SecretId=name, VersionStage="l18", MoveToVersionId=v2)[1] == "LimitExceededException"
    # Moving a label adds none.
    sm.update_secret_version_stage(SecretId=name, VersionStage="l17", MoveToVersionId=v2, RemoveFromVersionId=v1)


def test_versions_quota(sm):
    """A secret holds at most 100 versions; unlabeled ones are removed only once a day old, so
    the 101st young version is refused (AWS's advice: no more than one write per 10 minutes)."""
    name = uniq("quota")
    sm.create_secret(Name=name, SecretString="v0")
    for i in range(1, 100):
        sm.put_secret_value(SecretId=name, SecretString=f"v{i}")
    ids = [v["VersionId"] for v in sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True, MaxResults=100)["Versions"]]
    assert len(ids) == 100
    status, code, msg = fails(sm.put_secret_value, SecretId=name, SecretString="v100")
    assert (status, code) == (400, "LimitExceededException") and "100 versions" in msg
    assert fails(sm.update_secret, SecretId=name, SecretString="v100")[1] == "LimitExceededException"
    # Nothing half-written: the current value is the last accepted one.
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v99"
    assert len(sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True, MaxResults=100)["Versions"]) == 100


def test_concurrent_puts_lose_nothing(sm, server):
    name = uniq()
    v0 = sm.create_secret(Name=name, SecretString=value("0"))["VersionId"]
    results, errors = {}, []

    def put(i):
        c = client(server, "secretsmanager")
        try:
            r = c.put_secret_value(SecretId=name, SecretString=f"{CANARY}-concurrent-{i}")
            results[r["VersionId"]] = i
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 16
    versions = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    assert {v["VersionId"] for v in versions} == set(results) | {v0}
    labels = [s for v in versions for s in v["VersionStages"]]
    assert labels.count("AWSCURRENT") == 1 and labels.count("AWSPREVIOUS") == 1
    cur = current_of(sm, name)[0]
    assert cur in results
    for vid, i in results.items():
        assert sm.get_secret_value(SecretId=name, VersionId=vid)["SecretString"] == f"{CANARY}-concurrent-{i}"


# --------------------------------------------------------------------------------------------
# Listing


def test_list_secrets_filters_sort_paging(sm):
    tag = uuid.uuid4().hex[:8]
    names = [f"list-{tag}/svc-{w}" for w in ("zero", "one", "two", "three", "four")]
    for i, n in enumerate(names):
        sm.create_secret(Name=n, SecretString=value(), Description=f"Payments database {i}",
                         Tags=[{"Key": f"owner-{tag}", "Value": "blue" if i % 2 else "green"}])
    def listed(**kw):
        out, token = [], None
        while True:
            r = sm.list_secrets(**kw, **({"NextToken": token} if token else {}))
            out += [s["Name"] for s in r["SecretList"]]
            token = r.get("NextToken")
            if not token:
                return out
    assert listed(Filters=[{"Key": "name", "Values": [f"list-{tag}/"]}]) == names
    assert listed(Filters=[{"Key": "name", "Values": [f"list-{tag}/"]}], SortOrder="desc") == names[::-1]
    assert listed(Filters=[{"Key": "name", "Values": [f"list-{tag}/"]}], MaxResults=2) == names
    r = sm.list_secrets(Filters=[{"Key": "name", "Values": [f"list-{tag}/"]}], MaxResults=2)
    assert len(r["SecretList"]) == 2 and r["NextToken"]
    assert listed(Filters=[{"Key": "tag-key", "Values": [f"owner-{tag}"]}, {"Key": "tag-value", "Values": ["blue"]}]) == [names[1], names[3]]
    assert listed(Filters=[{"Key": "tag-key", "Values": [f"owner-{tag}"]}, {"Key": "tag-value", "Values": ["!blue"]}]) == [names[0], names[2], names[4]]
    # description: prefix, not case-sensitive; name: case-sensitive.
    assert listed(Filters=[{"Key": "name", "Values": [f"list-{tag}/"]}, {"Key": "description", "Values": ["payments"]}]) == names
    assert listed(Filters=[{"Key": "name", "Values": [f"LIST-{tag}/"]}]) == []
    assert listed(Filters=[{"Key": "all", "Values": [f"svc-three {tag}"]}]) == [names[3]]
    assert listed(Filters=[{"Key": "all", "Values": [f"THR {tag}"]}]) == [names[3]]
    assert listed(Filters=[{"Key": "primary-region", "Values": ["us-east-1"]}, {"Key": "name", "Values": [names[0]]}]) == [names[0]]
    assert set(names) <= set(listed())
    entry = sm.list_secrets(Filters=[{"Key": "name", "Values": [names[0]]}])["SecretList"][0]
    assert list(entry["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]
    assert fails(sm.list_secrets, NextToken="garbage!")[1] == "InvalidNextTokenException"
    # Deleted secrets appear only with IncludePlannedDeletion.
    sm.delete_secret(SecretId=names[0])
    assert names[0] not in listed(Filters=[{"Key": "name", "Values": [f"list-{tag}/"]}])
    both = sm.list_secrets(Filters=[{"Key": "name", "Values": [names[0]]}], IncludePlannedDeletion=True)["SecretList"]
    assert [s["Name"] for s in both] == [names[0]] and "DeletedDate" in both[0]


# --------------------------------------------------------------------------------------------
# Deletion


def test_delete_and_restore(sm):
    name = uniq()
    val = value()
    arn = sm.create_secret(Name=name, SecretString=val)["ARN"]
    before = time.time()
    r = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert r["ARN"] == arn and r["Name"] == name
    assert abs(r["DeletionDate"].timestamp() - (before + 7 * 86400)) < 60
    d = sm.describe_secret(SecretId=name)
    assert abs(d["DeletedDate"].timestamp() - r["DeletionDate"].timestamp()) < 2
    for call, kw in ((sm.get_secret_value, {}), (sm.put_secret_value, {"SecretString": "x"}),
                     (sm.update_secret, {"Description": "x"}), (sm.tag_resource, {"Tags": [{"Key": "a", "Value": "b"}]}),
                     (sm.list_secret_version_ids, {}), (sm.delete_secret, {})):
        status, code, msg = fails(call, SecretId=name, **kw)
        assert (status, code, msg) == (400, "InvalidRequestException", MARKED), call
    status, code, msg = fails(sm.create_secret, Name=name, SecretString="x")
    assert code == "InvalidRequestException"
    assert sm.restore_secret(SecretId=arn) == {"ARN": arn, "Name": name, "ResponseMetadata": mock.ANY}
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == val
    # Default window: 30 days.
    r = sm.delete_secret(SecretId=name)
    assert abs(r["DeletionDate"].timestamp() - (time.time() + 30 * 86400)) < 60
    sm.restore_secret(SecretId=name)


def test_delete_errors_and_force(sm):
    name = uniq()
    sm.create_secret(Name=name, SecretString=value())
    status, code, msg = fails(sm.delete_secret, SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert (code, msg) == ("InvalidParameterException",
                           "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
    for days in (6, 31):
        status, code, msg = fails(sm.delete_secret, SecretId=name, RecoveryWindowInDays=days)
        assert (code, msg) == ("InvalidParameterException",
                               "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
    assert fails(sm.delete_secret, SecretId=uniq())[1] == "ResourceNotFoundException"
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=10)
    # A secret already scheduled for deletion can still be deleted at once.
    r = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert abs(r["DeletionDate"].timestamp() - time.time()) < 60
    assert fails(sm.describe_secret, SecretId=name)[1] == "ResourceNotFoundException"
    # The name is free again.
    sm.create_secret(Name=name, SecretString=value())


# --------------------------------------------------------------------------------------------
# Tags and resource policies


def test_tags(sm):
    name = uniq()
    sm.create_secret(Name=name, SecretString=value(), Tags=[{"Key": "a", "Value": "1"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "3"}])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "3"}]
    sm.untag_resource(SecretId=name, TagKeys=["a", "missing"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "3"}]
    assert fails(sm.tag_resource, SecretId=uniq(), Tags=[{"Key": "a", "Value": "b"}])[1] == "ResourceNotFoundException"
    # The aws: prefix is AWS's, in keys and values, to add and to remove.
    for tags in ([{"Key": "aws:owner", "Value": "x"}], [{"Key": "AWS:owner", "Value": "x"}], [{"Key": "k", "Value": "aws:x"}]):
        assert fails(sm.tag_resource, SecretId=name, Tags=tags)[1] == "InvalidParameterException", tags
    assert fails(sm.untag_resource, SecretId=name, TagKeys=["aws:cloudformation:stack-name"])[1] == "InvalidParameterException"
    assert fails(sm.create_secret, Name=uniq(), SecretString="x", Tags=[{"Key": "aws:x", "Value": "y"}])[1] == "InvalidParameterException"
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "3"}]


def policy(principal, condition=None):
    st = {"Effect": "Allow", "Principal": principal, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def test_resource_policies(sm, server):
    name = uniq()
    arn = sm.create_secret(Name=name, SecretString=value())["ARN"]
    r = sm.get_resource_policy(SecretId=name)
    assert r["ARN"] == arn and "ResourcePolicy" not in r
    private = policy({"AWS": f"arn:aws:iam::{server.account_id}:root"})
    sm.put_resource_policy(SecretId=name, ResourcePolicy=private, BlockPublicPolicy=True)
    assert json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"]) == json.loads(private)
    public = policy("*")
    status, code, _ = fails(sm.put_resource_policy, SecretId=name, ResourcePolicy=public, BlockPublicPolicy=True)
    assert code == "PublicPolicyException"
    # A condition restricts it; without BlockPublicPolicy a public policy is stored.
    sm.put_resource_policy(SecretId=name, ResourcePolicy=policy("*", {"StringEquals": {"aws:PrincipalAccount": server.account_id}}),
                           BlockPublicPolicy=True)
    sm.put_resource_policy(SecretId=name, ResourcePolicy=public)
    assert fails(sm.put_resource_policy, SecretId=name, ResourcePolicy="{not json")[1] == "MalformedPolicyDocumentException"
    v = sm.validate_resource_policy(SecretId=name, ResourcePolicy=public)
    assert v["PolicyValidationPassed"] is False and v["ValidationErrors"][0]["ErrorMessage"]
    v = sm.validate_resource_policy(ResourcePolicy=private)
    assert v["PolicyValidationPassed"] is True and v["ValidationErrors"] == []
    assert sm.list_resource_policies(SecretId=name)["ResourcePolicies"] == [{"PolicyName": "default"}]
    assert fails(sm.put_resource_policy, SecretId=name, ResourcePolicy=private, PolicyName="other")[1] == "InvalidParameterException"
    assert sm.delete_resource_policy(SecretId=name)["ARN"] == arn
    assert sm.list_resource_policies(SecretId=name)["ResourcePolicies"] == []
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)


# --------------------------------------------------------------------------------------------
# GetRandomPassword and BatchGetSecretValue

PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def test_get_random_password(sm):
    p = sm.get_random_password()["RandomPassword"]
    assert len(p) == 32
    assert any(c.islower() for c in p) and any(c.isupper() for c in p)
    assert any(c.isdigit() for c in p) and any(c in PUNCT for c in p)
    p = sm.get_random_password(PasswordLength=100, ExcludePunctuation=True, ExcludeUppercase=True,
                               ExcludeCharacters="abcdef", IncludeSpace=True)["RandomPassword"]
    assert len(p) == 100 and " " in p
    assert all(c.islower() or c.isdigit() or c == " " for c in p) and not set(p) & set("abcdef")
    p = sm.get_random_password(PasswordLength=4096, ExcludeNumbers=True, ExcludeLowercase=True)["RandomPassword"]
    assert len(p) == 4096 and all(c.isupper() or c in PUNCT for c in p)
    assert len(sm.get_random_password(PasswordLength=1, RequireEachIncludedType=False)["RandomPassword"]) == 1
    assert fails(sm.get_random_password, PasswordLength=2)[1] == "InvalidParameterException"
    assert fails(sm.get_random_password, PasswordLength=4097)[1] == "ValidationException"
    assert fails(sm.get_random_password, ExcludeNumbers=True, ExcludeLowercase=True, ExcludeUppercase=True,
                 ExcludePunctuation=True)[1] == "InvalidParameterException"


def test_batch_get_secret_value(sm):
    tag = uuid.uuid4().hex[:8]
    names = [f"batch-{tag}-{i}" for i in range(3)]
    vals = [value(str(i)) for i in range(3)]
    for n, v in zip(names, vals):
        sm.create_secret(Name=n, SecretString=v)
    missing = uniq()
    r = sm.batch_get_secret_value(SecretIdList=names + [missing])
    assert {e["Name"]: e["SecretString"] for e in r["SecretValues"]} == dict(zip(names, vals))
    assert r["Errors"] == [{"SecretId": missing, "ErrorCode": "ResourceNotFoundException", "Message": NOT_FOUND}]
    got, token = [], None
    while True:
        r = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": [f"batch-{tag}-"]}], MaxResults=2,
                                      **({"NextToken": token} if token else {}))
        got += [e["Name"] for e in r["SecretValues"]]
        token = r.get("NextToken")
        if not token:
            break
    assert sorted(got) == names
    assert fails(sm.batch_get_secret_value, SecretIdList=names, Filters=[{"Key": "name", "Values": ["x"]}])[1] == "InvalidParameterException"


# --------------------------------------------------------------------------------------------
# KMS


def ctx_of(event):
    return (event.get("requestParameters") or {}).get("encryptionContext") or {}


def test_kms_keys_and_failures(sm, kms, server):
    key = kms.create_key()["KeyMetadata"]
    alias = f"alias/sm-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    name, val = uniq(), value()
    arn = sm.create_secret(Name=name, SecretString=val, KmsKeyId=alias)["ARN"]
    assert sm.describe_secret(SecretId=name)["KmsKeyId"] == alias
    kms.disable_key(KeyId=key["KeyId"])
    try:
        status, code, msg = fails(sm.get_secret_value, SecretId=name)
        assert (status, code, msg) == (400, "DecryptionFailure",
                                       "Secrets Manager can't decrypt the protected secret text using the provided KMS key.")
        assert fails(sm.put_secret_value, SecretId=name, SecretString=value())[1] == "EncryptionFailure"
    finally:
        kms.enable_key(KeyId=key["KeyId"])
    assert sm.get_secret_value(SecretId=name)["SecretString"] == val
    # The AWS managed key exists after the first secret without KmsKeyId.
    aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    assert "alias/aws/secretsmanager" in aliases
    assert fails(sm.create_secret, Name=uniq(), SecretString="x", KmsKeyId="alias/does-not-exist")[1] == "EncryptionFailure"
    # KMS's own events, invoked by Secrets Manager, with AWS's encryption context.
    deadline = time.time() + 10
    while True:
        evs = [r["event"] for r in trail_rows(server, "event_source = ? AND event_name = ?", ("kms.amazonaws.com", "Decrypt"))
               if ctx_of(r["event"]).get("SecretARN") == arn]
        # Events of reads are queued (durable within a second): wait for the successful one.
        if any(not e.get("errorCode") for e in evs) or time.time() > deadline:
            break
        time.sleep(0.1)
    assert evs
    ev = [e for e in evs if not e.get("errorCode")][-1]
    assert ev["userAgent"] == "secretsmanager.amazonaws.com"
    assert ev["userIdentity"]["invokedBy"] == "secretsmanager.amazonaws.com"
    assert set(ev["requestParameters"]["encryptionContext"]) == {"SecretARN", "SecretVersionId"}
    assert ev["resources"][0]["ARN"] == key["Arn"]
    assert any(e.get("errorCode") == "DisabledException" for e in evs)
    gdk = [r["event"] for r in trail_rows(server, "event_source = ? AND event_name = ?", ("kms.amazonaws.com", "GenerateDataKey"))
           if ctx_of(r["event"]).get("SecretARN") == arn]
    assert gdk and gdk[0]["requestParameters"]["keyId"] == alias


def test_values_never_in_trail(sm, server):
    name, val = uniq(), value("trail")
    sm.create_secret(Name=name, SecretString=val)
    sm.put_secret_value(SecretId=name, SecretString=val + "2")
    sm.update_secret(SecretId=name, SecretString=val + "3")
    sm.get_secret_value(SecretId=name)
    sm.batch_get_secret_value(SecretIdList=[name])
    time.sleep(1.5)
    rows = trail_rows(server, "event_source = ?", ("secretsmanager.amazonaws.com",))
    assert any(r["event_name"] == "CreateSecret" and name in r["record"] for r in rows)
    create = [r["event"] for r in rows if r["event_name"] == "CreateSecret" and name in r["record"]][0]
    assert create["requestParameters"]["secretString"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    for r in trail_rows(server):
        assert val not in r["record"]


# --------------------------------------------------------------------------------------------
# The aws CLI


def test_cli(server):
    name, val = uniq("cli"), value("cli")
    out = aws(server, "secretsmanager", "create-secret", "--name", name, "--secret-string", val, "--region", "us-east-1")
    assert ARN_RE.match(out["ARN"])
    assert aws(server, "secretsmanager", "get-secret-value", "--secret-id", name, "--region", "us-east-1")["SecretString"] == val
    put = aws(server, "secretsmanager", "put-secret-value", "--secret-id", out["ARN"], "--secret-string", val + "2", "--region", "us-east-1")
    assert put["VersionStages"] == ["AWSCURRENT"]
    listed = aws(server, "secretsmanager", "list-secrets", "--filters", f"Key=name,Values={name}", "--region", "us-east-1")
    assert [s["Name"] for s in listed["SecretList"]] == [name]
    res = aws(server, "secretsmanager", "describe-secret", "--secret-id", uniq(), "--region", "us-east-1", check=False)
    assert res.returncode != 0 and "ResourceNotFoundException" in res.stderr


# --------------------------------------------------------------------------------------------
# Rotation


def lambda_arn(server, fn):
    return f"arn:aws:lambda:us-east-1:{server.account_id}:function:{fn}"


def wait_current(sm, sid, version, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if current_of(sm, sid) == [version]:
            return
        time.sleep(0.1)
    raise AssertionError(f"{version} never became AWSCURRENT: {stages(sm, sid)}")


def test_rotation_builtin_random(sm, server):
    name = uniq("rot")
    old = {"username": "app", "password": value("pw"), "host": "db"}
    v1 = sm.create_secret(Name=name, SecretString=json.dumps(old))["VersionId"]
    r = sm.rotate_secret(SecretId=name, RotationLambdaARN=lambda_arn(server, "rampart-random-rotator"),
                         RotationRules={"ScheduleExpression": "rate(10 days)", "Duration": "3h"})
    v2 = r["VersionId"]
    wait_current(sm, name, v2)
    new = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
    assert new["username"] == "app" and new["host"] == "db" and new["password"] != old["password"]
    assert len(new["password"]) == 32
    deadline = time.time() + 10
    while "AWSPENDING" in str(stages(sm, name)) and time.time() < deadline:
        time.sleep(0.1)
    assert stages(sm, name) == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    d = sm.describe_secret(SecretId=name)
    assert d["RotationEnabled"] is True and d["RotationLambdaARN"].endswith(":rampart-random-rotator")
    assert d["RotationRules"] == {"ScheduleExpression": "rate(10 days)", "Duration": "3h"}
    assert "LastRotatedDate" in d
    assert 9 * 86400 < d["NextRotationDate"].timestamp() - time.time() < 11 * 86400
    # A plain string secret gets a new random string.
    name2 = uniq("rot")
    sm.create_secret(Name=name2, SecretString="plain")
    v = sm.rotate_secret(SecretId=name2, RotationLambdaARN=lambda_arn(server, "rampart-random-rotator"),
                         RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]
    wait_current(sm, name2, v)
    assert sm.get_secret_value(SecretId=name2)["SecretString"] != "plain"
    # Without configuration parameters RotateSecret uses the stored ones.
    v = sm.rotate_secret(SecretId=name2)["VersionId"]
    wait_current(sm, name2, v)
    c = sm.cancel_rotate_secret(SecretId=name2)
    assert c["Name"] == name2
    d = sm.describe_secret(SecretId=name2)
    assert d["RotationEnabled"] is False and "NextRotationDate" not in d


def test_rotation_errors(sm, server):
    name = uniq("rot")
    sm.create_secret(Name=name, SecretString="x")
    status, code, msg = fails(sm.rotate_secret, SecretId=name)
    assert code == "InvalidRequestException" and "Lambda function ARN" in msg
    status, code, msg = fails(sm.rotate_secret, SecretId=name, RotationLambdaARN=lambda_arn(server, "no-such-function"))
    assert code == "AccessDeniedException"
    assert fails(sm.cancel_rotate_secret, SecretId=name)[1] == "InvalidRequestException"
    rnd = lambda_arn(server, "rampart-random-rotator")
    for rules in ({"AutomaticallyAfterDays": 3, "ScheduleExpression": "rate(3 days)"},
                  {"ScheduleExpression": "rate(1 hours)"}, {"ScheduleExpression": "cron(0 8 * * * *)"},
                  {"ScheduleExpression": "rate(2 days)", "Duration": "30h"}):
        assert fails(sm.rotate_secret, SecretId=name, RotationLambdaARN=rnd, RotationRules=rules)[1] == "InvalidParameterException", rules
    # RotateImmediately=False: the schedule only.
    r = sm.rotate_secret(SecretId=name, RotationLambdaARN=rnd, RotateImmediately=False,
                         RotationRules={"ScheduleExpression": "cron(0 16 ? * SUN#1 *)"})
    assert "VersionId" not in r
    d = sm.describe_secret(SecretId=name)
    assert d["RotationEnabled"] is True and d["NextRotationDate"].weekday() == 6
    assert d["NextRotationDate"].day <= 7 and d["NextRotationDate"].hour == 16


ROTATOR = r'''
import json, os, sys
import boto3
event = json.load(sys.stdin)
sm = boto3.client("secretsmanager")
arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
meta = sm.describe_secret(SecretId=arn)
versions = meta["VersionIdsToStages"]
assert token in versions and "AWSPENDING" in versions[token], versions
if os.path.exists(os.environ["FAIL_FLAG"]) and step == "setSecret":
    with open(os.environ["STEP_LOG"], "a") as f:
        f.write("setSecret-failed\n")
    sys.exit(3)
if step == "createSecret":
    cur = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    try:
        sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    except sm.exceptions.ResourceNotFoundException:
        cur["password"] = sm.get_random_password(ExcludeCharacters="/@\"'\\")["RandomPassword"]
        cur["generation"] = cur.get("generation", 0) + 1
        sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(cur),
                            VersionStages=["AWSPENDING"])
elif step == "finishSecret":
    current = [v for v, s in versions.items() if "AWSCURRENT" in s][0]
    if current != token:
        sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                       RemoveFromVersionId=current)
with open(os.environ["STEP_LOG"], "a") as f:
    f.write(step + "\n")
'''


def test_rotation_local_command(servers, tmp_path):
    rot_dir = tmp_path / "rotators"
    rot_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    env["RAMPART_ROTATORS_DIR"] = str(rot_dir)
    # Rampart's own settings (say, RAMPART_UNSEAL_PASSPHRASE) never reach a rotator.
    env["RAMPART_TEST_PRIVATE"] = CANARY
    with mock.patch.object(conftest, "_server_env", lambda: dict(env)):
        srv = servers.start("rotators", dev=True)
    try:
        sm = client(srv, "secretsmanager")
        (tmp_path / "rotator.py").write_text(ROTATOR)
        flag, log = tmp_path / "fail", tmp_path / "steps.log"
        script = rot_dir / "my-rotator"
        script.write_text(
            "#!/bin/sh\n"
            f"env | grep '^RAMPART_' >> {tmp_path / 'env.log'}\n"
            f"export AWS_ENDPOINT_URL={srv.endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test\n"
            f"export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null\n"
            f"export FAIL_FLAG={flag} STEP_LOG={log}\n"
            f"exec {shlex.quote(sys.executable)} {shlex.quote(str(tmp_path / 'rotator.py'))}\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        name = uniq("cmd")
        v1 = sm.create_secret(Name=name, SecretString=json.dumps({"username": "u", "password": "p0"}))["VersionId"]
        arn = lambda_arn(srv, "my-rotator")
        v2 = sm.rotate_secret(SecretId=name, RotationLambdaARN=arn)["VersionId"]
        wait_current(sm, name, v2)
        new = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
        assert new["generation"] == 1 and new["password"] != "p0"
        deadline = time.time() + 10
        while log.read_text().count("\n") < 4 and time.time() < deadline:
            time.sleep(0.1)
        assert log.read_text().split() == ["createSecret", "setSecret", "testSecret", "finishSecret"]
        seen = set((tmp_path / "env.log").read_text().split())
        assert seen == {"RAMPART_ROTATION_STEP=" + s for s in ("createSecret", "setSecret", "testSecret", "finishSecret")}
        # A failing step leaves AWSPENDING on the new version; the next rotation with another
        # token is refused, the same token resumes.
        flag.write_text("1")
        v3 = sm.rotate_secret(SecretId=name)["VersionId"]
        deadline = time.time() + 30
        while "setSecret-failed" not in log.read_text() and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        st = stages(sm, name)
        assert log.read_text().count("createSecret") == 2
        assert st[v3] == ["AWSPENDING"] and st[v2] == ["AWSCURRENT"], st
        assert json.loads(sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")["SecretString"])["generation"] == 2
        status, code, msg = fails(sm.rotate_secret, SecretId=name)
        assert (code, msg) == ("InvalidRequestException", "A previous rotation isn't complete. That rotation will be reattempted.")
        flag.unlink()
        assert sm.rotate_secret(SecretId=name, ClientRequestToken=v3)["VersionId"] == v3
        wait_current(sm, name, v3)
        assert json.loads(sm.get_secret_value(SecretId=name)["SecretString"])["generation"] == 2
        assert stages(sm, name)[v2] == ["AWSPREVIOUS"] and v1 not in stages(sm, name)
        # RotateImmediately=False runs only testSecret, on an AWSPENDING copy it then unlabels.
        deadline = time.time() + 30
        while log.read_text().split().count("finishSecret") < 2 and time.time() < deadline:
            time.sleep(0.1)
        before = log.read_text().split()
        r = sm.rotate_secret(SecretId=name, RotateImmediately=False, RotationRules={"AutomaticallyAfterDays": 5})
        assert "VersionId" not in r
        deadline = time.time() + 30
        while log.read_text().split() == before and time.time() < deadline:
            time.sleep(0.1)
        assert log.read_text().split()[len(before):] == ["testSecret"]
        deadline = time.time() + 30
        while "AWSPENDING" in str(stages(sm, name)) and time.time() < deadline:
            time.sleep(0.1)
        assert stages(sm, name) == {v3: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}
        assert current_of(sm, name) == [v3]
    finally:
        srv.stop()


HANGING_ROTATOR = r"""
import json, os, sys, time
import boto3
event = json.load(sys.stdin)
d = os.environ["WORK"]
step, arn, token = event["Step"], event["SecretId"], event["ClientRequestToken"]
with open(os.path.join(d, "steps.log"), "a") as f:
    f.write(step + "\n")
if step == "setSecret" and os.path.exists(os.path.join(d, "hang")):
    with open(os.path.join(d, "steps.log"), "a") as f:
        f.write("hanging\n")
    while os.path.exists(os.path.join(d, "hang")):
        time.sleep(0.05)
    sys.exit(1)
endpoint = os.path.join(d, "endpoint")
deadline = time.time() + 30
while not os.path.exists(endpoint) and time.time() < deadline:
    time.sleep(0.05)
sm = boto3.client("secretsmanager", endpoint_url=open(endpoint).read().strip())
if step == "createSecret":
    try:
        sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    except sm.exceptions.ResourceNotFoundException:
        sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString="rotated", VersionStages=["AWSPENDING"])
elif step == "finishSecret":
    versions = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = [v for v, s in versions.items() if "AWSCURRENT" in s][0]
    if current != token:
        sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                       RemoveFromVersionId=current)
"""


def test_rotation_resumes_after_kill(servers, tmp_path):
    """A server killed (SIGKILL) while a rotation runs resumes it with the same token when it
    starts again, and the rotation finishes."""
    rot_dir, work, data = tmp_path / "rotators", tmp_path / "work", tmp_path / "data"
    rot_dir.mkdir()
    work.mkdir()
    (work / "rotator.py").write_text(HANGING_ROTATOR)
    script = rot_dir / "hanging-rotator"
    script.write_text(
        "#!/bin/sh\n"
        f"export WORK={work} AWS_SHARED_CREDENTIALS_FILE={data / 'credentials'} AWS_PROFILE=rampart\n"
        f"export AWS_CONFIG_FILE=/dev/null\n"
        f"exec {shlex.quote(sys.executable)} {shlex.quote(str(work / 'rotator.py'))}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    env["RAMPART_ROTATORS_DIR"] = str(rot_dir)
    (work / "hang").write_text("1")
    with mock.patch.object(conftest, "_server_env", lambda: dict(env)):
        srv = servers.start("resume-1", data_dir=data)
    try:
        (work / "endpoint").write_text(srv.endpoint)
        sm = client(srv, "secretsmanager")
        name = uniq("resume")
        v1 = sm.create_secret(Name=name, SecretString="original")["VersionId"]
        token = sm.rotate_secret(SecretId=name, RotationLambdaARN=lambda_arn(srv, "hanging-rotator"))["VersionId"]
        deadline = time.time() + 30
        while "hanging" not in (work / "steps.log").read_text() if (work / "steps.log").exists() else True:
            assert time.time() < deadline, "the rotator never reached setSecret"
            time.sleep(0.05)
        srv.kill()
    finally:
        (work / "hang").unlink()
        (work / "endpoint").unlink()
    before = (work / "steps.log").read_text().split()
    assert before == ["createSecret", "setSecret", "hanging"]
    with mock.patch.object(conftest, "_server_env", lambda: dict(env)):
        srv = servers.start("resume-2", data_dir=data)
    try:
        (work / "endpoint").write_text(srv.endpoint)
        sm = client(srv, "secretsmanager")
        wait_current(sm, name, token)
        assert sm.get_secret_value(SecretId=name)["SecretString"] == "rotated"
        deadline = time.time() + 10
        while "AWSPENDING" in str(stages(sm, name)) and time.time() < deadline:
            time.sleep(0.05)
        assert stages(sm, name) == {token: ["AWSCURRENT"], v1: ["AWSPREVIOUS"]}
        deadline = time.time() + 10
        while (work / "steps.log").read_text().split().count("finishSecret") < 1 and time.time() < deadline:
            time.sleep(0.05)
        # Resumed from the first step with the same token (its value was already there).
        assert (work / "steps.log").read_text().split()[len(before):] == [
            "createSecret", "setSecret", "testSecret", "finishSecret"]
        assert "resuming a rotation interrupted by a restart" in srv.stderr()
        assert sm.describe_secret(SecretId=name).get("LastRotatedDate") is not None
    finally:
        srv.stop()


def _self_signed(tmp_path):
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rotator.test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    certf, keyf = tmp_path / "hook-cert.pem", tmp_path / "hook-key.pem"
    certf.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyf.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return certf, keyf


def test_rotation_https_webhook(servers, tmp_path):
    """A rotator registered as an HTTPS webhook gets each step's Lambda event, signed with the
    shared secret, and calls back with boto3 as a Lambda function would; a failing step (HTTP
    500) leaves AWSPENDING in place and the same token resumes."""
    import hashlib
    import hmac
    import http.server
    import ssl

    certf, keyf = _self_signed(tmp_path)
    shared = b"webhook-shared-secret-" + uuid.uuid4().hex.encode()
    (tmp_path / "hook.key").write_bytes(shared + b"\n")
    seen, bad_signatures, fail = [], [], threading.Event()
    state = {}

    class Rotator(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            sig = dict(p.split("=", 1) for p in self.headers.get("X-Rampart-Signature", "").split(","))
            want = hmac.new(shared, sig.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
            fresh = abs(time.time() - int(sig.get("t", "0"))) < 300
            if not (fresh and hmac.compare_digest(want, sig.get("v1", ""))):
                bad_signatures.append(body)
                self.send_response(401)
                self.end_headers()
                return
            event = json.loads(body)
            step, arn, token = event["Step"], event["SecretId"], event["ClientRequestToken"]
            sm = client(state["srv"], "secretsmanager")
            status = 200
            if step == "setSecret" and fail.is_set():
                status = 500
            elif step == "createSecret":
                try:
                    sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
                except sm.exceptions.ResourceNotFoundException:
                    sm.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                        SecretString="rotated-" + token[:8], VersionStages=["AWSPENDING"])
            elif step == "finishSecret":
                versions = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
                current = [v for v, s in versions.items() if "AWSCURRENT" in s][0]
                if current != token:
                    sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                                   MoveToVersionId=token, RemoveFromVersionId=current)
            seen.append(step if status == 200 else step + "-failed")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Rotator)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certf, keyf)
    httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    cfg = tmp_path / "rampart.toml"
    cfg.write_text(
        "[secrets.webhooks.hook-rotator]\n"
        f"url = \"https://127.0.0.1:{httpd.server_address[1]}/rotate\"\n"
        f"ca_file = \"{certf}\"\nsecret_file = \"{tmp_path / 'hook.key'}\"\n"
        # The same endpoint with a wrong secret: every call refused by the rotator.
        "[secrets.webhooks.forged]\n"
        f"url = \"https://127.0.0.1:{httpd.server_address[1]}/rotate\"\n"
        f"ca_file = \"{certf}\"\nsecret_file = \"{tmp_path / 'other.key'}\"\n"
        # A certificate Rampart does not trust.
        "[secrets.webhooks.untrusted]\n"
        f"url = \"https://127.0.0.1:{httpd.server_address[1]}/rotate\"\n")
    (tmp_path / "other.key").write_text("not-the-shared-secret-at-all")
    try:
        srv = state["srv"] = servers.start("webhooks", "--config", str(cfg), dev=True)
        try:
            sm = client(srv, "secretsmanager")
            name = uniq("hook")
            sm.create_secret(Name=name, SecretString="original")
            v2 = sm.rotate_secret(SecretId=name, RotationLambdaARN=lambda_arn(srv, "hook-rotator"))["VersionId"]
            wait_current(sm, name, v2)
            assert sm.get_secret_value(SecretId=name)["SecretString"] == "rotated-" + v2[:8]
            deadline = time.time() + 10
            while len(seen) < 4 and time.time() < deadline:
                time.sleep(0.05)
            assert seen == ["createSecret", "setSecret", "testSecret", "finishSecret"]
            # A failing step: AWSPENDING stays, the same token resumes.
            fail.set()
            v3 = sm.rotate_secret(SecretId=name)["VersionId"]
            deadline = time.time() + 30
            while "setSecret-failed" not in seen and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
            assert stages(sm, name)[v3] == ["AWSPENDING"]
            assert fails(sm.rotate_secret, SecretId=name)[1] == "InvalidRequestException"
            fail.clear()
            assert sm.rotate_secret(SecretId=name, ClientRequestToken=v3)["VersionId"] == v3
            wait_current(sm, name, v3)
            assert stages(sm, name)[v2] == ["AWSPREVIOUS"]
            # Forged events are refused by the rotator; an untrusted certificate is refused by
            # Rampart: either way the rotation does not finish.
            assert not bad_signatures
            for hook in ("forged", "untrusted"):
                other = uniq(hook)
                sm.create_secret(Name=other, SecretString="keep")
                before = srv.stderr().count("rotation did not finish")
                v = sm.rotate_secret(SecretId=other, RotationLambdaARN=lambda_arn(srv, hook))["VersionId"]
                deadline = time.time() + 10
                while time.time() < deadline and srv.stderr().count("rotation did not finish") == before:
                    time.sleep(0.05)
                assert stages(sm, other)[v] == ["AWSPENDING"], hook
                assert sm.get_secret_value(SecretId=other)["SecretString"] == "keep"
            assert len(bad_signatures) == 1
            assert "certificate" in srv.stderr().lower() or "invalidcertificate" in srv.stderr().lower()
            # Neither the shared secret nor a secret value is in the log.
            assert shared.decode() not in srv.stderr() and "rotated-" not in srv.stderr()
        finally:
            srv.stop()
    finally:
        httpd.shutdown()
    # A webhook over plain HTTP to another host is refused at start.
    bad = tmp_path / "bad.toml"
    bad.write_text("[secrets.webhooks.x]\nurl = \"http://192.0.2.1/rotate\"\n")
    p = servers.run("--config", str(bad), "serve", "--dev", "--listen", "127.0.0.1:0", timeout=30)
    assert p.returncode != 0 and "https://" in p.stderr


def test_caching_client_reads_through_rotation(sm, server):
    """AWS's caching client for Python (aws-secretsmanager-caching) sees the rotated value once
    its refresh interval has passed, and never an error in between."""
    from aws_secretsmanager_caching import SecretCache, SecretCacheConfig

    name = uniq("cache")
    first = {"username": "app", "password": value("cache")}
    sm.create_secret(Name=name, SecretString=json.dumps(first))
    cache = SecretCache(config=SecretCacheConfig(secret_refresh_interval=1), client=client(server, "secretsmanager"))
    assert json.loads(cache.get_secret_string(name)) == first
    v2 = sm.rotate_secret(SecretId=name, RotationLambdaARN=lambda_arn(server, "rampart-random-rotator"))["VersionId"]
    deadline = time.time() + 30
    seen = []
    while time.time() < deadline:
        got = json.loads(cache.get_secret_string(name))
        seen.append(got["password"])
        if got["password"] != first["password"]:
            break
        time.sleep(0.2)
    assert seen[-1] != first["password"] and set(seen) <= {first["password"], seen[-1]}
    assert current_of(sm, name) == [v2]
    assert json.loads(sm.get_secret_value(SecretId=name)["SecretString"])["password"] == seen[-1]


# --------------------------------------------------------------------------------------------
# The PostgreSQL rotator, against a real PostgreSQL on loopback


def _pg_tool(name):
    found = shutil.which(name)
    if found:
        return found
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL cluster (SCRAM-SHA-256) on 127.0.0.1; skipped when PostgreSQL
    is not installed. As root, the server runs as the `postgres` user."""
    initdb, pg_ctl, psql = _pg_tool("initdb"), _pg_tool("pg_ctl"), _pg_tool("psql")
    if not (initdb and pg_ctl and psql):
        pytest.skip("PostgreSQL (initdb, pg_ctl, psql) is not installed")
    as_pg = []
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser")
        as_pg = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="rampart-pg-"))
    admin_pw = uuid.uuid4().hex
    (base / "pw").write_text(admin_pw + "\n")
    if as_pg:
        for p in (base, base / "pw"):
            shutil.chown(p, "postgres", "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = base / "data"
    subprocess.run(as_pg + [initdb, "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
                            f"--pwfile={base / 'pw'}"], check=True, capture_output=True, timeout=120)
    subprocess.run(as_pg + [pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                            f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True, timeout=120)

    def login(user, password, sql="SELECT 1"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGPASSWORD"] = password
        return subprocess.run([psql, f"host=127.0.0.1 port={port} user={user} dbname=postgres", "-v",
                               "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, env=env,
                              timeout=60).returncode == 0

    try:
        yield {"port": port, "login": login, "admin_pw": admin_pw}
    finally:
        subprocess.run(as_pg + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def test_rotation_postgres(sm, server, postgres):
    login, port = postgres["login"], postgres["port"]
    assert login("postgres", postgres["admin_pw"], "CREATE ROLE app LOGIN PASSWORD 'initial-pw'")
    assert login("app", "initial-pw")
    name = uniq("pg")
    secret = {"engine": "postgres", "host": "127.0.0.1", "port": port, "username": "app",
              "password": "initial-pw", "dbname": "postgres"}
    sm.create_secret(Name=name, SecretString=json.dumps(secret))
    arn = lambda_arn(server, "rampart-postgres-rotator")
    v2 = sm.rotate_secret(SecretId=name, RotationLambdaARN=arn)["VersionId"]
    wait_current(sm, name, v2)
    new = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
    assert {k: v for k, v in new.items() if k != "password"} == {k: v for k, v in secret.items() if k != "password"}
    assert new["password"] != "initial-pw"
    assert login("app", new["password"]) and not login("app", "initial-pw")
    # Again: the previous version's password no longer works, the new one does.
    v3 = sm.rotate_secret(SecretId=name)["VersionId"]
    wait_current(sm, name, v3)
    newer = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
    assert login("app", newer["password"]) and not login("app", new["password"])
    # Credentials the database refuses: setSecret fails, AWSPENDING stays, nothing changes.
    bad = uniq("pg")
    sm.create_secret(Name=bad, SecretString=json.dumps({**secret, "password": "wrong"}))
    v = sm.rotate_secret(SecretId=bad, RotationLambdaARN=arn)["VersionId"]
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            sm.get_secret_value(SecretId=bad, VersionStage="AWSPENDING")
            break
        except ClientError:
            time.sleep(0.1)
    time.sleep(2)
    st = stages(sm, bad)
    assert st[v] == ["AWSPENDING"] and len(current_of(sm, bad)) == 1 and current_of(sm, bad) != [v]
    assert login("app", newer["password"])


# --------------------------------------------------------------------------------------------
# Replication

ON_REPLICA = "Operation not permitted on a replica secret. Call must be made in primary secret's region."


def test_replication(sm, server):
    eu = client(server, "secretsmanager", region_name="eu-west-1")
    ap = client(server, "secretsmanager", region_name="ap-southeast-2")
    name, val = uniq("repl"), value("repl")
    r = sm.create_secret(Name=name, SecretString=val, AddReplicaRegions=[{"Region": "eu-west-1"}])
    assert r["ReplicationStatus"] == [{"Region": "eu-west-1", "KmsKeyId": "alias/aws/secretsmanager",
                                       "Status": "InSync", "StatusMessage": "Replication succeeded"}]
    arn = r["ARN"]
    eu_arn = arn.replace(":us-east-1:", ":eu-west-1:")
    g = eu.get_secret_value(SecretId=name)
    assert (g["ARN"], g["SecretString"], g["VersionId"]) == (eu_arn, val, r["VersionId"])
    d = eu.describe_secret(SecretId=eu_arn)
    assert d["PrimaryRegion"] == "us-east-1" and "ReplicationStatus" not in d
    assert sm.describe_secret(SecretId=name)["PrimaryRegion"] == "us-east-1"
    # Changes to the primary reach the replica; the replica is read-only.
    v2 = sm.put_secret_value(SecretId=name, SecretString=val + "2")["VersionId"]
    sm.tag_resource(SecretId=name, Tags=[{"Key": "k", "Value": "v"}])
    g = eu.get_secret_value(SecretId=name)
    assert (g["VersionId"], g["SecretString"]) == (v2, val + "2")
    assert eu.describe_secret(SecretId=name)["Tags"] == [{"Key": "k", "Value": "v"}]
    assert eu.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == val
    for call, kw in ((eu.put_secret_value, {"SecretString": "x"}), (eu.update_secret, {"Description": "x"}),
                     (eu.delete_secret, {}), (eu.tag_resource, {"Tags": [{"Key": "a", "Value": "b"}]})):
        assert fails(call, SecretId=name, **kw)[1:] == ("InvalidParameterException", ON_REPLICA), call
    status, code, msg = fails(sm.delete_secret, SecretId=name)
    assert code == "InvalidParameterException" and "eu-west-1" in msg
    assert fails(sm.replicate_secret_to_regions, SecretId=name, AddReplicaRegions=[{"Region": "us-east-1"}])[1] == "InvalidParameterException"
    # A well-formed region this node does not serve.
    status, code, msg = fails(sm.replicate_secret_to_regions, SecretId=name, AddReplicaRegions=[{"Region": "xx-nowhere-9"}])
    assert code == "InvalidParameterException" and "does not serve xx-nowhere-9" in msg
    # A second region, then remove the first.
    st = sm.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": "ap-southeast-2"}])["ReplicationStatus"]
    assert sorted(s["Region"] for s in st) == ["ap-southeast-2", "eu-west-1"]
    assert all(s["Status"] == "InSync" for s in st)
    assert ap.get_secret_value(SecretId=name)["SecretString"] == val + "2"
    st = sm.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=["eu-west-1"])["ReplicationStatus"]
    assert [s["Region"] for s in st] == ["ap-southeast-2"]
    assert fails(eu.describe_secret, SecretId=name)[1] == "ResourceNotFoundException"
    # Promote the other replica: it becomes a standalone secret in its region.
    ap_arn = ap.stop_replication_to_replica(SecretId=name)["ARN"]
    assert ap_arn == arn.replace(":us-east-1:", ":ap-southeast-2:")
    assert "PrimaryRegion" not in ap.describe_secret(SecretId=name)
    ap.put_secret_value(SecretId=name, SecretString="independent")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == val + "2"
    assert "ReplicationStatus" not in sm.describe_secret(SecretId=name)
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    ap.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_replication_conflict(sm, server):
    eu = client(server, "secretsmanager", region_name="eu-west-1")
    name = uniq("repl")
    eu.create_secret(Name=name, SecretString="eu-own")
    st = sm.create_secret(Name=name, SecretString=value(), AddReplicaRegions=[{"Region": "eu-west-1"}])["ReplicationStatus"]
    assert st[0]["Status"] == "Failed" and "already exists" in st[0]["StatusMessage"]
    assert eu.get_secret_value(SecretId=name)["SecretString"] == "eu-own"
    sm.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=["eu-west-1"])
    assert eu.get_secret_value(SecretId=name)["SecretString"] == "eu-own"
    st = sm.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": "eu-west-1"}],
                                        ForceOverwriteReplicaSecret=True)["ReplicationStatus"]
    assert st[0]["Status"] == "InSync"
    assert eu.describe_secret(SecretId=name)["PrimaryRegion"] == "us-east-1"
    assert fails(sm.create_secret, Name=uniq(), SecretString="x", AddReplicaRegions=[{"Region": "Not a region"}])[1] == "ValidationException"


# --------------------------------------------------------------------------------------------
# Persistence


def test_restart_keeps_secrets_and_deletion_schedule(spawn):
    first = spawn("secrets-restart")
    sm = client(first, "secretsmanager")
    val = value("restart")
    sm.create_secret(Name="kept", SecretString=val)
    v2 = sm.put_secret_value(SecretId="kept", SecretString=val + "2", VersionStages=["custom"])["VersionId"]
    sm.create_secret(Name="doomed", SecretString="x")
    date = sm.delete_secret(SecretId="doomed", RecoveryWindowInDays=8)["DeletionDate"]
    first.stop()
    second = spawn("secrets-restart", data_dir=first.data_dir)
    sm = client(second, "secretsmanager")
    assert sm.get_secret_value(SecretId="kept")["SecretString"] == val
    assert sm.get_secret_value(SecretId="kept", VersionStage="custom")["VersionId"] == v2
    assert sm.describe_secret(SecretId="doomed")["DeletedDate"] == date


# --------------------------------------------------------------------------------------------
# docs/secrets.md

DOCS = Path(__file__).resolve().parents[2] / "docs" / "secrets.md"
DOC_ENDPOINT = "http://127.0.0.1:4566"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)


def doc_commands():
    out = []
    for block in BLOCK.findall(DOCS.read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("aws "):
                out.append(line.strip())
    return out


def test_docs_examples_run(spawn):
    cmds = doc_commands()
    assert len(cmds) >= 8
    srv = spawn("secrets-docs")
    for command in cmds:
        assert command.startswith(f"aws --endpoint-url {DOC_ENDPOINT} --profile rampart ")
        argv = shlex.split(command.replace(DOC_ENDPOINT, srv.endpoint, 1))
        argv[0] = AWS_CLI
        res = run_cli(argv, cli_env(srv.credentials_file, region=None))
        assert res.returncode == 0, f"`{command}` exited {res.returncode}:\n{res.stderr}"

"""The audit trail: `aws cloudtrail lookup-events` / boto3 LookupEvents over Rampart's own
events, and `rampart trail verify` on intact and tampered copies of a trail."""
import datetime as dt
import json
import random
import re
import shutil
import sqlite3

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import (CANARY, FORM, aws, client, cloudtrail_request, error_of,
                      lookup_until, marker, raw_request, request_id_of, sts_request, trail_rows,
                      wait_for_event)

RECORD_KEYS = {"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
               "sourceIPAddress", "userAgent", "requestParameters", "responseElements", "requestID",
               "eventID", "readOnly", "eventType", "recipientAccountId", "eventCategory"}


def call(server, **kw):
    """GetCallerIdentity; returns (response, its event once committed)."""
    r = client(server, "sts", **kw).get_caller_identity()
    return r, wait_for_event(server, request_id_of(r))


def by_request_id(events):
    return {json.loads(e["CloudTrailEvent"])["requestID"]: e for e in events}


def lookup(server, **params):
    return client(server, "cloudtrail").lookup_events(**params)


def attr(key, value):
    return {"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]}


# ---- the record ----------------------------------------------------------------------------


def test_record_of_a_call(server):
    ua = marker()
    r, _ = call(server, config=Config(user_agent_extra=ua))
    rid = request_id_of(r)
    events = lookup_until(client(server, "cloudtrail"), lambda evs: rid in by_request_id(evs),
                          MaxResults=50, **attr("EventName", "GetCallerIdentity"))
    e = by_request_id(events)[rid]
    rec = json.loads(e["CloudTrailEvent"])
    assert RECORD_KEYS <= rec.keys()
    assert rec["requestID"] == rid
    assert rec["eventID"] == e["EventId"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rec["eventTime"])
    assert (rec["eventSource"], rec["eventName"]) == ("sts.amazonaws.com", "GetCallerIdentity")
    assert (e["EventSource"], e["EventName"]) == ("sts.amazonaws.com", "GetCallerIdentity")
    assert rec["awsRegion"] == "us-east-1"
    assert rec["sourceIPAddress"] == "127.0.0.1"
    assert ua in rec["userAgent"]
    assert rec["readOnly"] is True and e["ReadOnly"] == "true"
    assert rec["eventType"] == "AwsApiCall"
    assert rec["eventCategory"] == "Management"
    assert rec["recipientAccountId"] == server.account_id
    assert "errorCode" not in rec
    assert rec["userIdentity"] == {
        "type": "IAMUser",
        "principalId": r["UserId"],
        "arn": r["Arn"],
        "accountId": server.account_id,
        "accessKeyId": server.access_key,
        "userName": "admin",
    }
    assert (e["Username"], e["AccessKeyId"]) == ("admin", server.access_key)


def test_tls_details_only_over_https(server):
    _, plain = call(server)
    _, tls = call(server, https=True)
    assert "tlsDetails" not in plain
    assert "tlsDetails" in tls


def test_lookup_events_records_its_parameters(server):
    c = client(server, "cloudtrail")
    r = c.lookup_events(MaxResults=7, **attr("EventName", "GetCallerIdentity"))
    rec = wait_for_event(server, request_id_of(r))
    assert rec["eventName"] == "LookupEvents"
    assert rec["eventSource"] == "cloudtrail.amazonaws.com"
    assert rec["requestParameters"]  # the lookup attribute and MaxResults, in some casing
    assert "7" in json.dumps(rec["requestParameters"])


# ---- filters, order, pagination ------------------------------------------------------------


def test_cli_lookup_events_finds_a_call(server):
    r, _ = call(server)
    out = aws(server, "cloudtrail", "lookup-events", "--lookup-attributes",
              "AttributeKey=EventName,AttributeValue=GetCallerIdentity", "--max-items", "50")
    assert request_id_of(r) in by_request_id(out["Events"])


def test_cli_lookup_by_event_id(server):
    _, ev = call(server)
    out = aws(server, "cloudtrail", "lookup-events", "--lookup-attributes",
              f"AttributeKey=EventId,AttributeValue={ev['eventID']}")
    assert [e["EventId"] for e in out["Events"]] == [ev["eventID"]]


@pytest.mark.parametrize("key, value, field", [
    ("EventName", "GetCallerIdentity", "EventName"),
    ("Username", "admin", "Username"),
    ("AccessKeyId", None, "AccessKeyId"),
    ("EventSource", "sts.amazonaws.com", "EventSource"),
    ("ReadOnly", "true", "ReadOnly"),
])
def test_filter(server, key, value, field):
    call(server)
    value = value or server.access_key
    events = lookup(server, MaxResults=50, **attr(key, value))["Events"]
    assert events
    assert all(e[field] == value for e in events), [e[field] for e in events]


def test_filter_read_only_false(server):
    with pytest.raises(ClientError) as e:
        client(server, "sts", aws_secret_access_key=CANARY).get_caller_identity()
    rid = request_id_of(e.value)
    wait_for_event(server, rid)
    events = lookup(server, MaxResults=50, **attr("ReadOnly", "false"))["Events"]
    assert all(e["ReadOnly"] == "false" for e in events)
    assert rid in by_request_id(events)


def test_filter_event_id(server):
    _, ev = call(server)
    events = lookup(server, **attr("EventId", ev["eventID"]))["Events"]
    assert len(events) == 1
    assert json.loads(events[0]["CloudTrailEvent"]) == ev


def test_newest_first(server):
    first, _ = call(server)
    second, _ = call(server)
    events = lookup(server, MaxResults=50, **attr("EventName", "GetCallerIdentity"))["Events"]
    ids = [json.loads(e["CloudTrailEvent"])["requestID"] for e in events]
    i, j = ids.index(request_id_of(second)), ids.index(request_id_of(first))
    assert i < j
    assert events[i]["EventTime"] >= events[j]["EventTime"]


def test_paginator_walks_every_page(server):
    mine = {request_id_of(call(server)[0]) for _ in range(7)}
    pages = list(client(server, "cloudtrail").get_paginator("lookup_events").paginate(
        PaginationConfig={"PageSize": 3}, **attr("EventName", "GetCallerIdentity")))
    assert len(pages) >= 3
    assert all(len(p["Events"]) <= 3 for p in pages)
    assert all("NextToken" in p for p in pages[:-1])
    ids = [e["EventId"] for p in pages for e in p["Events"]]
    assert len(ids) == len(set(ids))
    assert mine <= set(by_request_id([e for p in pages for e in p["Events"]]))


def test_cli_pagination(server):
    for _ in range(4):
        call(server)
    args = ["cloudtrail", "lookup-events", "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=GetCallerIdentity", "--page-size", "2"]
    first = aws(server, *args, "--max-items", "3")
    assert len(first["Events"]) == 3
    assert first["NextToken"]
    second = aws(server, *args, "--max-items", "3", "--starting-token", first["NextToken"])
    assert second["Events"]
    assert not {e["EventId"] for e in first["Events"]} & {e["EventId"] for e in second["Events"]}


def test_next_token_belongs_to_its_query(server):
    for _ in range(3):
        call(server)
    token = lookup(server, MaxResults=1, **attr("EventName", "GetCallerIdentity"))["NextToken"]
    with pytest.raises(ClientError) as e:
        lookup(server, MaxResults=1, NextToken=token, **attr("Username", "admin"))
    assert error_of(e.value)[:2] == (400, "InvalidNextTokenException")


def test_time_window_before_the_server_existed_is_empty(server):
    end = server.started_at - dt.timedelta(hours=1)
    r = lookup(server, StartTime=end - dt.timedelta(hours=1), EndTime=end)
    assert r["Events"] == []


def test_time_window_around_a_call(server):
    r, ev = call(server)
    t = dt.datetime.strptime(ev["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    events = lookup(server, StartTime=t - dt.timedelta(seconds=1), EndTime=t + dt.timedelta(seconds=2),
                    MaxResults=50, **attr("EventName", "GetCallerIdentity"))["Events"]
    assert request_id_of(r) in by_request_id(events)


def test_insights_category_is_empty(server):
    assert lookup(server, EventCategory="insight")["Events"] == []


def test_events_are_scoped_to_the_callers_account(dev_server):
    a, b = ("".join(random.choice("123456789") for _ in range(12)) for _ in range(2))
    r, _ = call(dev_server, aws_access_key_id=a, aws_secret_access_key="x")
    ct_a = client(dev_server, "cloudtrail", aws_access_key_id=a, aws_secret_access_key="x")
    ct_b = client(dev_server, "cloudtrail", aws_access_key_id=b, aws_secret_access_key="x")
    assert request_id_of(r) in by_request_id(ct_a.lookup_events()["Events"])
    seen_by_b = ct_b.lookup_events()["Events"]
    assert request_id_of(r) not in by_request_id(seen_by_b)
    assert all(json.loads(e["CloudTrailEvent"])["recipientAccountId"] == b for e in seen_by_b)
    dev_admin = client(dev_server, "cloudtrail").lookup_events(**attr("AccessKeyId", a))["Events"]
    assert dev_admin == []  # account 000000000000 does not see account a's events


# ---- refused requests are recorded ---------------------------------------------------------


def test_unknown_key_is_recorded_with_error_code(server):
    key = "AKIA" + "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    with pytest.raises(ClientError) as e:
        client(server, "sts", aws_access_key_id=key, aws_secret_access_key=CANARY).get_caller_identity()
    rid = request_id_of(e.value)
    events = lookup_until(client(server, "cloudtrail"), lambda evs: len(evs) == 1, **attr("AccessKeyId", key))
    assert events[0]["AccessKeyId"] == key
    rec = json.loads(events[0]["CloudTrailEvent"])
    assert rec["requestID"] == rid
    assert rec["errorCode"] == "InvalidClientTokenId"
    assert rec["errorMessage"]
    # Attributed to the service the request was signed for.
    assert rec["eventSource"] == "sts.amazonaws.com"
    assert rec["eventName"] == "GetCallerIdentity"
    assert rec["userIdentity"]["accessKeyId"] == key
    assert rec["recipientAccountId"] == server.account_id


def test_bad_signature_is_recorded_with_error_code(server):
    with pytest.raises(ClientError) as e:
        client(server, "cloudtrail", aws_secret_access_key=CANARY).lookup_events()
    rid = request_id_of(e.value)
    events = lookup_until(client(server, "cloudtrail"), lambda evs: rid in by_request_id(evs),
                          MaxResults=50, **attr("AccessKeyId", server.access_key))
    rec = json.loads(by_request_id(events)[rid]["CloudTrailEvent"])
    assert rec["errorCode"] == "InvalidSignatureException"
    assert rec["eventSource"] == "cloudtrail.amazonaws.com"
    assert rec["eventName"] == "LookupEvents"
    assert rec["readOnly"] is False


def test_unsigned_request_is_recorded_under_rampart(server):
    r = raw_request(server, body=b"Action=GetCallerIdentity&Version=2011-06-15",
                    headers={"Content-Type": FORM}, sign=False)
    assert r.status == 403
    rid = r.headers["x-amzn-RequestId"]
    events = lookup_until(client(server, "cloudtrail"), lambda evs: rid in by_request_id(evs),
                          MaxResults=50, **attr("EventSource", "rampart.amazonaws.com"))
    rec = json.loads(by_request_id(events)[rid]["CloudTrailEvent"])
    assert rec["errorCode"] == "MissingAuthenticationToken"
    assert rec["eventName"] == "GetCallerIdentity"


def test_failed_validation_is_recorded(server):
    with pytest.raises(ClientError) as e:
        client(server, "cloudtrail", config=Config(parameter_validation=False)).lookup_events(MaxResults=0)
    rec = wait_for_event(server, request_id_of(e.value))
    assert rec["errorCode"] == "ValidationException"
    assert rec["eventSource"] == "cloudtrail.amazonaws.com"
    assert rec["userIdentity"]["type"] == "IAMUser"


def refusal(server, kind):
    if kind == "malformed-json":
        return cloudtrail_request(server, "LookupEvents", b"{oops")
    if kind == "unknown-operation":
        return cloudtrail_request(server, "Nope", {})
    if kind == "missing-action":
        return sts_request(server, "Version=2011-06-15")
    if kind == "no-signature":
        return raw_request(server, body=b"Action=GetCallerIdentity", headers={"Content-Type": FORM}, sign=False)
    if kind == "session-token":
        return sts_request(server, "Action=GetCallerIdentity&Version=2011-06-15", session_token=CANARY)
    if kind == "unserved-service":
        return raw_request(server, body=b"Action=DescribeInstances&Version=2016-11-15", headers={"Content-Type": FORM},
                           service="ec2")
    if kind == "body-too-large":
        return cloudtrail_request(server, "LookupEvents", b" " * (8 * 1024 * 1024 + 1))
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", [
    "malformed-json", "unknown-operation", "missing-action", "no-signature", "session-token",
    "unserved-service", "body-too-large",
])
def test_every_refused_request_leaves_one_event(server, kind):
    r = refusal(server, kind)
    assert r.status >= 400
    rec = wait_for_event(server, r.headers["x-amzn-RequestId"], timeout=3)
    assert rec["errorCode"]


# ---- rampart trail verify ------------------------------------------------------------------


@pytest.fixture(scope="module")
def stopped(servers):
    """A dedicated server with a few events (some refused), stopped cleanly."""
    srv = servers.start("trail-verify")
    for _ in range(3):
        client(srv, "sts").get_caller_identity()
    with pytest.raises(ClientError):
        client(srv, "sts", aws_access_key_id="AKIAUNKNOWNUNKNOWN00").get_caller_identity()
    client(srv, "cloudtrail").lookup_events()
    client(srv, "sts", https=True).get_caller_identity()
    assert srv.stop() == 0
    return srv


def copy_of(srv, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(srv.data_dir, dst)
    return dst


def edit(data_dir, sql, params=()):
    con = sqlite3.connect(data_dir / "rampart.db")
    try:
        with con:
            assert con.execute(sql, params).rowcount == 1
    finally:
        con.close()


def test_verify_ok(stopped, servers):
    n = len(trail_rows(stopped))
    assert n >= 6
    p = servers.verify(stopped.data_dir)
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.fullmatch(r"trail OK: (\d+) events, (\d+) signed digests\n", p.stdout)
    assert m, p.stdout
    assert int(m.group(1)) == n
    assert int(m.group(2)) >= 1  # the stop signs the head


def test_verify_catches_an_edited_record(stopped, servers, tmp_path):
    d = copy_of(stopped, tmp_path)
    victim = trail_rows(d, "seq = 3")[0]
    forged = victim["record"].replace('"admin"', '"mallory"')
    assert forged != victim["record"]
    edit(d, "UPDATE trail SET record = ? WHERE seq = 3", (forged,))
    p = servers.verify(d)
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stdout.startswith("trail BROKEN after 2 good events: ")
    assert "event #3 " in p.stdout
    assert victim["event_id"] in p.stdout


def test_verify_catches_a_deleted_row(stopped, servers, tmp_path):
    d = copy_of(stopped, tmp_path)
    edit(d, "DELETE FROM trail WHERE seq = 4")
    p = servers.verify(d)
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stdout.startswith("trail BROKEN after 3 good events: ")
    assert "event #3 and event #5" in p.stdout


def test_verify_catches_a_deleted_first_row(stopped, servers, tmp_path):
    d = copy_of(stopped, tmp_path)
    edit(d, "DELETE FROM trail WHERE seq = 1")
    p = servers.verify(d)
    assert p.returncode == 2
    assert "event #2" in p.stdout


def test_verify_catches_a_truncated_tail(stopped, servers, tmp_path):
    d = copy_of(stopped, tmp_path)
    last = trail_rows(d)[-1]["seq"]
    edit(d, "DELETE FROM trail WHERE seq = ?", (last,))
    p = servers.verify(d)
    assert p.returncode == 2
    assert f"event #{last}" in p.stdout


def test_verify_catches_an_edited_lookup_column(stopped, servers, tmp_path):
    d = copy_of(stopped, tmp_path)
    edit(d, "UPDATE trail SET event_name = 'ConsoleLogin', username = 'mallory' WHERE seq = 2")
    p = servers.verify(d)
    assert p.returncode == 2, p.stdout


def test_verify_without_data(servers, tmp_path):
    p = servers.verify(tmp_path / "nothing-here")
    assert p.returncode not in (0, 2)
    assert "no Rampart data" in p.stderr

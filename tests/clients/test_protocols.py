"""Wire protocols: AWS JSON 1.1 (CloudTrail) and AWS Query (STS) — malformed, oversized and
invalid requests get AWS's error codes in each protocol's shape. Raw requests are signed with
botocore's SigV4Auth and sent with urllib3."""
import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import (FORM, JSON_11, client, cloudtrail_request, error_of, json_error, query_error,
                      raw_request, sts_request)

NO_VALIDATION = Config(parameter_validation=False)
GCI = "Action=GetCallerIdentity&Version=2011-06-15"


def assert_json_error(r, status, code):
    assert r.status == status, r.data
    assert r.headers["Content-Type"] == JSON_11
    assert r.headers.get("x-amzn-RequestId")
    got, message = json_error(r)
    assert got == code, r.data
    assert message
    return message


def assert_query_error(r, status, code):
    assert r.status == status, r.data
    assert r.headers["Content-Type"].startswith("text/xml")
    got, message = query_error(r)
    assert got == code, r.data
    assert ET.fromstring(r.data).findtext("{*}RequestId") == r.headers["x-amzn-RequestId"]
    return message


def ct_client_error(server, **params):
    with pytest.raises(ClientError) as e:
        client(server, "cloudtrail", config=NO_VALIDATION).lookup_events(**params)
    return error_of(e.value)


# ---- JSON 1.1 ------------------------------------------------------------------------------


def test_json_success_shape(server):
    r = cloudtrail_request(server, "LookupEvents", {"MaxResults": 1})
    assert r.status == 200
    assert r.headers["Content-Type"] == JSON_11
    assert r.headers["x-amzn-RequestId"]
    assert isinstance(json.loads(r.data)["Events"], list)


def test_empty_json_body_means_no_parameters(server):
    r = cloudtrail_request(server, "LookupEvents", b"")
    assert r.status == 200


def test_malformed_json(server):
    r = cloudtrail_request(server, "LookupEvents", b"{not json")
    assert_json_error(r, 400, "SerializationException")


def test_json_body_not_an_object(server):
    r = cloudtrail_request(server, "LookupEvents", b"[1, 2]")
    assert_json_error(r, 400, "SerializationException")


def test_json_member_of_wrong_type(server):
    r = cloudtrail_request(server, "LookupEvents", {"MaxResults": "five"})
    assert_json_error(r, 400, "SerializationException")


def test_wrong_content_type(server):
    r = cloudtrail_request(server, "LookupEvents", {}, headers={"Content-Type": "text/plain"})
    assert_json_error(r, 400, "SerializationException")


def test_unknown_operation(server):
    r = cloudtrail_request(server, "NoSuchOperation", {})
    msg = assert_json_error(r, 400, "UnknownOperationException")
    assert "NoSuchOperation" in msg


def test_missing_target(server):
    r = raw_request(server, body=b"{}", headers={"Content-Type": JSON_11}, service="cloudtrail")
    assert_json_error(r, 400, "UnknownOperationException")


def test_target_of_another_service(server):
    r = raw_request(server, body=b"{}", service="cloudtrail",
                    headers={"Content-Type": JSON_11, "X-Amz-Target": "TrentService.ListKeys"})
    assert_json_error(r, 400, "UnknownOperationException")


def test_unimplemented_operation(server):
    with pytest.raises(ClientError) as e:
        client(server, "cloudtrail").describe_trails()
    status, code, msg = error_of(e.value)
    assert (status, code) == (501, "NotImplementedException")
    assert "DescribeTrails" in msg


@pytest.mark.parametrize("value, bound", [(0, "greater than or equal to 1"), (51, "less than or equal to 50")])
def test_max_results_out_of_range(server, value, bound):
    status, code, msg = ct_client_error(server, MaxResults=value)
    assert (status, code) == (400, "ValidationException")
    assert msg == (f"1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy "
                   f"constraint: Member must have value {bound}")


def test_max_results_out_of_range_raw(server):
    r = cloudtrail_request(server, "LookupEvents", {"MaxResults": 0})
    msg = assert_json_error(r, 400, "ValidationException")
    assert msg.startswith("1 validation error detected: Value '0' at 'maxResults'")


def test_unknown_lookup_attribute_key(server):
    status, code, msg = ct_client_error(
        server, LookupAttributes=[{"AttributeKey": "Colour", "AttributeValue": "blue"}])
    assert (status, code) == (400, "ValidationException")
    assert msg.startswith("1 validation error detected: Value 'Colour' at "
                          "'lookupAttributes.1.member.attributeKey' failed to satisfy constraint: "
                          "Member must satisfy enum value set: [")


def test_two_lookup_attributes(server):
    status, code, msg = ct_client_error(server, LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"},
        {"AttributeKey": "Username", "AttributeValue": "admin"},
    ])
    assert status == 400
    assert code in ("InvalidLookupAttributesException", "ValidationException")
    assert msg


def test_read_only_attribute_must_be_boolean(server):
    status, code, _ = ct_client_error(
        server, LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "maybe"}])
    assert (status, code) == (400, "InvalidLookupAttributesException")


def test_start_after_end(server):
    now = dt.datetime.now(dt.timezone.utc)
    status, code, _ = ct_client_error(server, StartTime=now, EndTime=now - dt.timedelta(hours=1))
    assert (status, code) == (400, "InvalidTimeRangeException")


@pytest.mark.parametrize("token", ["garbage", "djE6MTA6MDAwMA", "!!!"])
def test_bad_next_token(server, token):
    status, code, _ = ct_client_error(server, NextToken=token)
    assert (status, code) == (400, "InvalidNextTokenException")


# ---- Query ---------------------------------------------------------------------------------


def test_query_success_shape(server):
    r = sts_request(server, GCI)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(r.data)
    assert root.tag == "{https://sts.amazonaws.com/doc/2011-06-15/}GetCallerIdentityResponse"
    assert root.findtext(".//{*}Account") == server.account_id
    assert root.findtext("{*}ResponseMetadata/{*}RequestId") == r.headers["x-amzn-RequestId"]


def test_query_in_the_url(server):
    r = raw_request(server, "GET", "/?" + GCI, service="sts")
    assert r.status == 200
    assert ET.fromstring(r.data).findtext(".//{*}Account") == server.account_id


def test_missing_action(server):
    msg = assert_query_error(sts_request(server, "Version=2011-06-15"), 400, "MissingAction")
    assert msg == "Missing Action"


def test_invalid_action(server):
    msg = assert_query_error(sts_request(server, "Action=MakeMeAdmin&Version=2011-06-15"), 400, "InvalidAction")
    assert msg == "Could not find operation MakeMeAdmin for version 2011-06-15"


def test_unimplemented_query_action(server):
    with pytest.raises(ClientError) as e:
        client(server, "sts").decode_authorization_message(EncodedMessage="opaque")
    assert error_of(e.value)[:2] == (501, "NotImplementedException")


def test_service_not_served(server):
    r = raw_request(server, body=b"Action=DescribeInstances&Version=2016-11-15", headers={"Content-Type": FORM},
                    service="ec2")
    assert r.status == 400
    assert query_error(r)[0] == "InvalidAction"


# ---- body limits ---------------------------------------------------------------------------

LIMIT = 8 * 1024 * 1024


def test_body_over_the_default_limit(server):
    r = cloudtrail_request(server, "LookupEvents", b" " * (LIMIT + 1))
    msg = assert_json_error(r, 413, "RequestEntityTooLarge")
    assert str(LIMIT) in msg


@pytest.fixture(scope="module")
def small(servers):
    srv = servers.start("small-body", "--max-body-bytes", "2048")
    yield srv
    srv.stop()


def test_body_at_the_lowered_limit_is_accepted(small):
    r = cloudtrail_request(small, "LookupEvents", b"{}" + b" " * 2046)
    assert r.status == 200, r.data


def test_body_over_the_lowered_limit_json(small):
    r = cloudtrail_request(small, "LookupEvents", b"{}" + b" " * 2047)
    msg = assert_json_error(r, 413, "RequestEntityTooLarge")
    assert "2048" in msg


def test_body_over_the_lowered_limit_query(small):
    r = sts_request(small, GCI + "&Padding=" + "x" * 3000)
    assert_query_error(r, 413, "RequestEntityTooLarge")


def test_chunked_body_over_the_limit(small):
    # No Content-Length: the limit applies while the body streams in.
    chunks = [b"{" + b" " * 1023] + [b" " * 1024] * 3 + [b"}"]
    r = small.request("POST", "/", body=iter(chunks), chunked=True,
                      headers={"Content-Type": JSON_11, "X-Amz-Target": "x.LookupEvents"})
    assert_json_error(r, 413, "RequestEntityTooLarge")


def test_sdk_request_over_the_limit(small):
    c = client(small, "cloudtrail")
    with pytest.raises(ClientError) as e:
        c.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "x" * 3000}])
    assert error_of(e.value)[:2] == (413, "RequestEntityTooLarge")

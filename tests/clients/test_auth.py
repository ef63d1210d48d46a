"""Authentication: AWS's error codes for bad, unknown, missing and stale signatures; presigned
URLs; session tokens."""
import datetime as dt
import json
import time
import xml.etree.ElementTree as ET

import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import (CANARY, at_time, client, cloudtrail_request, error_of, json_error, query_error,
                      raw_request, sts_request)

UNKNOWN_KEY = "AKIAZZZZZZZZZZZZZZZZ"
GCI = "Action=GetCallerIdentity&Version=2011-06-15"


def sts_error(server, **kw):
    with pytest.raises(ClientError) as e:
        client(server, "sts", **kw).get_caller_identity()
    return error_of(e.value)


def ct_error(server, **kw):
    with pytest.raises(ClientError) as e:
        client(server, "cloudtrail", **kw).lookup_events(MaxResults=1)
    return error_of(e.value)


def unsigned():
    return Config(signature_version=botocore.UNSIGNED)


# ---- wrong secret --------------------------------------------------------------------------


def test_wrong_secret_query(server):
    status, code, msg = sts_error(server, aws_secret_access_key=CANARY)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert msg.startswith("The request signature we calculated does not match")


def test_wrong_secret_json(server):
    status, code, _ = ct_error(server, aws_secret_access_key=CANARY)
    assert (status, code) == (400, "InvalidSignatureException")


# ---- unknown key ---------------------------------------------------------------------------


def test_unknown_key_query(server):
    status, code, msg = sts_error(server, aws_access_key_id=UNKNOWN_KEY)
    assert (status, code) == (403, "InvalidClientTokenId")
    assert msg == "The security token included in the request is invalid."


def test_unknown_key_json(server):
    status, code, _ = ct_error(server, aws_access_key_id=UNKNOWN_KEY)
    assert (status, code) == (400, "UnrecognizedClientException")


def test_twelve_digit_key_is_unknown_outside_dev(server):
    status, code, _ = sts_error(server, aws_access_key_id="123456789012")
    assert (status, code) == (403, "InvalidClientTokenId")


# ---- no authentication ---------------------------------------------------------------------


def test_missing_authentication_query(server):
    status, code, msg = sts_error(server, config=unsigned())
    assert (status, code) == (403, "MissingAuthenticationToken")
    assert msg == "Request is missing Authentication Token"


def test_missing_authentication_json(server):
    status, code, _ = ct_error(server, config=unsigned())
    assert (status, code) == (403, "MissingAuthenticationTokenException")


def test_malformed_authorization_header(server):
    r = raw_request(server, body=GCI.encode(), sign=False,
                    headers={"Content-Type": "application/x-www-form-urlencoded",
                             "Authorization": "AWS4-HMAC-SHA256 Credential=nonsense"})
    assert r.status == 400
    assert query_error(r)[0] == "IncompleteSignature"


# ---- session tokens ------------------------------------------------------------------------


def test_session_token_with_long_term_key_query(server):
    status, code, _ = sts_error(server, aws_session_token=CANARY)
    assert (status, code) == (403, "InvalidClientTokenId")


def test_session_token_with_long_term_key_json(server):
    status, code, _ = ct_error(server, aws_session_token=CANARY)
    assert (status, code) == (400, "UnrecognizedClientException")


# ---- clock skew (botocore signs with a patched clock) --------------------------------------


def now():
    return dt.datetime.now(dt.timezone.utc)


def test_signature_from_20_minutes_ago_query(server):
    c = client(server, "sts")
    with at_time(now() - dt.timedelta(minutes=20)), pytest.raises(ClientError) as e:
        c.get_caller_identity()
    status, code, msg = error_of(e.value)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert msg.startswith("Signature expired:"), msg


def test_signature_from_20_minutes_ago_json(server):
    c = client(server, "cloudtrail")
    with at_time(now() - dt.timedelta(minutes=20)), pytest.raises(ClientError) as e:
        c.lookup_events(MaxResults=1)
    status, code, msg = error_of(e.value)
    assert (status, code) == (400, "InvalidSignatureException")
    assert msg.startswith("Signature expired:"), msg


def test_signature_from_20_minutes_ahead(server):
    r = sts_request(server, GCI, when=now() + dt.timedelta(minutes=20))
    assert r.status == 403
    code, msg = query_error(r)
    assert code == "SignatureDoesNotMatch"
    assert msg.startswith("Signature not yet current:"), msg


@pytest.mark.parametrize("minutes", [-10, 10])
def test_skew_within_15_minutes_is_accepted(server, minutes):
    c = client(server, "sts")
    with at_time(now() + dt.timedelta(minutes=minutes)):
        assert c.get_caller_identity()["Account"] == server.account_id


def test_raw_request_signed_with_old_x_amz_date(server):
    r = cloudtrail_request(server, "LookupEvents", {"MaxResults": 1}, when=now() - dt.timedelta(hours=1))
    assert r.status == 400
    code, msg = json_error(r)
    assert code == "InvalidSignatureException"
    assert msg.startswith("Signature expired:")


# ---- presigned URLs ------------------------------------------------------------------------

def caller_account(xml_bytes):
    return ET.fromstring(xml_bytes).findtext(".//{*}GetCallerIdentityResult/{*}Account")


def test_presigned_get_url(server):
    url = client(server, "sts").generate_presigned_url("get_caller_identity", HttpMethod="GET")
    r = server.request("GET", url)
    assert r.status == 200, r.data
    assert caller_account(r.data) == server.account_id


def test_presigned_url_over_https(server):
    url = client(server, "sts", https=True).generate_presigned_url("get_caller_identity", HttpMethod="GET")
    r = server.request("GET", url)
    assert r.status == 200, r.data
    assert caller_account(r.data) == server.account_id


def test_default_presigned_url_is_signed_for_post(server):
    # botocore signs a Query operation's presigned URL for its HTTP method, POST.
    url = client(server, "sts").generate_presigned_url("get_caller_identity")
    ok = server.request("POST", url)
    assert ok.status == 200, ok.data
    assert caller_account(ok.data) == server.account_id
    wrong_method = server.request("GET", url)
    assert wrong_method.status == 403
    assert query_error(wrong_method)[0] == "SignatureDoesNotMatch"


def test_expired_presigned_url_is_refused(server):
    url = client(server, "sts").generate_presigned_url("get_caller_identity", HttpMethod="GET", ExpiresIn=1)
    time.sleep(2)
    r = server.request("GET", url)
    assert r.status == 403
    code, msg = query_error(r)
    assert code == "SignatureDoesNotMatch"
    assert "expired" in msg.lower()


def test_tampered_presigned_url_is_refused(server):
    url = client(server, "sts").generate_presigned_url("get_caller_identity", HttpMethod="GET")
    r = server.request("GET", url.replace("X-Amz-Expires=3600", "X-Amz-Expires=3601"))
    assert r.status == 403
    assert query_error(r)[0] == "SignatureDoesNotMatch"


def test_presigned_url_with_unknown_key(server):
    c = client(server, "sts", aws_access_key_id=UNKNOWN_KEY, aws_secret_access_key=CANARY)
    r = server.request("GET", c.generate_presigned_url("get_caller_identity", HttpMethod="GET"))
    assert r.status == 403
    assert query_error(r)[0] == "InvalidClientTokenId"


# ---- regions -------------------------------------------------------------------------------


def test_region_not_served_query(server):
    status, code, msg = sts_error(server, region_name="xx-nowhere-9")
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert msg == "Credential should be scoped to a valid region, not 'xx-nowhere-9'."


def test_region_not_served_json(server):
    status, code, msg = ct_error(server, region_name="xx-nowhere-9")
    assert (status, code) == (400, "InvalidSignatureException")
    assert "xx-nowhere-9" in msg


def test_event_history_is_regional(server):
    """LookupEvents answers from the region it is called in, as CloudTrail's event history does."""
    marker = client(server, "sts", region_name="eu-west-1").get_caller_identity()["ResponseMetadata"]["RequestId"]
    west = client(server, "cloudtrail", region_name="eu-west-1")
    east = client(server, "cloudtrail")
    attrs = [{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}]

    def ids(c):
        seen = set()
        for page in c.get_paginator("lookup_events").paginate(LookupAttributes=attrs):
            seen.update(json.loads(e["CloudTrailEvent"])["requestID"] for e in page["Events"])
        return seen

    deadline = time.time() + 5
    while marker not in ids(west) and time.time() < deadline:
        time.sleep(0.1)
    assert marker in ids(west)
    assert marker not in ids(east)

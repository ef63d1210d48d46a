"""`rampart serve --dev`: the LocalStack-style development mode."""
import json
import random
import subprocess

import pytest
from botocore.exceptions import ClientError

from conftest import (DEV_ACCOUNT, aws, client, error_of, json_error, raw_request, request_id_of,
                      wait_for_event)

def random_account():
    return "".join(random.choice("0123456789") for _ in range(12))


def identity(server, key, secret="anything"):
    return client(server, "sts", aws_access_key_id=key, aws_secret_access_key=secret).get_caller_identity()


def test_test_test_credentials(dev_server):
    r = client(dev_server, "sts").get_caller_identity()
    assert r["Account"] == DEV_ACCOUNT
    assert r["Arn"] == f"arn:aws:iam::{DEV_ACCOUNT}:user/admin"


def test_cli_with_test_credentials(dev_server):
    assert aws(dev_server, "sts", "get-caller-identity")["Account"] == DEV_ACCOUNT


def test_test_key_signature_is_still_verified(dev_server):
    with pytest.raises(ClientError) as e:
        identity(dev_server, "test", "not-test")
    assert error_of(e.value)[:2] == (403, "SignatureDoesNotMatch")


def test_twelve_digit_unknown_key_is_that_account(dev_server):
    account = random_account()
    r = identity(dev_server, account)
    assert r["Account"] == account
    assert r["Arn"] == f"arn:aws:iam::{account}:root"


def test_other_unknown_key_is_the_dev_account(dev_server):
    r = identity(dev_server, "AKIAIOSFODNN7EXAMPLE")
    assert r["Account"] == DEV_ACCOUNT
    assert r["Arn"] == f"arn:aws:iam::{DEV_ACCOUNT}:root"


def test_unknown_key_is_not_signature_checked(dev_server):
    # Two different "secrets" for the same unknown key both work.
    account = random_account()
    assert identity(dev_server, account, "one")["Account"] == account
    assert identity(dev_server, account, "two")["Account"] == account


def test_unknown_key_still_needs_a_signature(dev_server):
    r = raw_request(dev_server, body=b"Action=GetCallerIdentity&Version=2011-06-15", sign=False,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 403


def test_unknown_key_event_is_in_its_account(dev_server):
    account = random_account()
    r = identity(dev_server, account)
    ev = wait_for_event(dev_server, request_id_of(r))
    assert ev["recipientAccountId"] == account
    assert ev["userIdentity"]["accountId"] == account
    assert ev["userIdentity"]["arn"] == f"arn:aws:iam::{account}:root"
    assert ev["userIdentity"]["accessKeyId"] == account


def test_health(dev_server):
    r = dev_server.request("GET", "/_rampart/health")
    assert r.status == 200
    assert json.loads(r.data) == {"status": "ok"}


def test_health_on_normal_server(server):
    r = server.request("GET", "/_rampart/health")
    assert (r.status, json.loads(r.data)) == (200, {"status": "ok"})


# ---- reset ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/moto-api/reset", "/_rampart/reset"])
def test_reset_wipes_the_trail(spawn, path):
    dev = spawn("dev-reset", dev=True)
    account = random_account()
    wait_for_event(dev, request_id_of(identity(dev, account)))
    wait_for_event(dev, request_id_of(client(dev, "sts").get_caller_identity()))
    before = client(dev, "sts").get_caller_identity()

    r = dev.request("POST", path)
    assert r.status == 200
    assert json.loads(r.data) == {"reset": True}

    # The trail is empty for both accounts (only the LookupEvents calls made after the reset).
    for key in ("test", account):
        c = client(dev, "cloudtrail", aws_access_key_id=key, aws_secret_access_key="test")
        events = c.lookup_events()["Events"]
        assert all(e["EventName"] == "LookupEvents" for e in events), events
    # The dev account and test/test come back (a new admin user).
    after = client(dev, "sts").get_caller_identity()
    assert after["Account"] == DEV_ACCOUNT
    assert after["Arn"] == before["Arn"]


def test_reset_needs_post(spawn):
    dev = spawn("dev-reset-get", dev=True)
    r = dev.request("GET", "/moto-api/reset")
    assert r.status != 200


@pytest.mark.parametrize("path", ["/moto-api/reset", "/_rampart/reset"])
def test_no_reset_without_dev(server, path):
    mine = client(server, "sts").get_caller_identity()
    wait_for_event(server, request_id_of(mine))
    r = server.request("POST", path)
    assert r.status != 200
    assert 400 <= r.status < 500
    code, _ = json_error(r)
    assert code == "MissingAuthenticationTokenException"
    # Nothing was wiped.
    wait_for_event(server, request_id_of(mine))
    assert client(server, "sts").get_caller_identity()["Account"] == server.account_id


def test_signed_reset_without_dev_is_an_error(server):
    r = raw_request(server, "POST", "/moto-api/reset", service="sts")
    assert r.status != 200
    assert b"reset" not in r.data


def test_dev_refuses_a_non_loopback_address(rampart_bin):
    p = subprocess.run([rampart_bin, "serve", "--dev", "--listen", "0.0.0.0:0"], capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    assert "--dev serves only on a loopback address" in p.stderr
    assert "0.0.0.0" in p.stderr
    assert "listening" not in p.stdout

"""The WAF's data plane: web ACLs configured with boto3 and the aws CLI, enforced by Rampart's
proxy on real HTTP requests from several loopback source addresses (127.0.0.2, 127.0.0.3, ...),
in front of an upstream that echoes what it received."""
from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import AWS_CLI, aws, client, error_of, wait_for_event

DOCS = Path(__file__).resolve().parents[2] / "docs"
VC = lambda name: {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name}  # noqa: E731


# --------------------------------------------------------------------------------------------
# An upstream that echoes each request as JSON


class _Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        out = json.dumps({
            "method": self.command, "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_len": len(body), "peer": self.client_address[0],
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def upstream():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rampart(server, *args, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    p = subprocess.run([server.argv[0], *args], capture_output=True, text=True, env=env, timeout=60,
                       stdin=subprocess.DEVNULL)
    if check:
        assert p.returncode == 0, f"rampart {' '.join(args)} exited {p.returncode}: {p.stderr}"
    return p


def create_proxy(server, upstream, name=None, port=None):
    name = name or "p-" + uuid.uuid4().hex[:10]
    port = port or free_port()
    p = rampart(server, "waf", "proxy", "create", "--endpoint", server.endpoint, "--name", name,
                "--listen", f"127.0.0.1:{port}", "--upstream", upstream)
    arn = p.stdout.strip()
    assert re.fullmatch(r"arn:aws:elasticloadbalancing:us-east-1:\d{12}:loadbalancer/app/" + name + r"/[0-9a-f]{16}", arn), arn
    return arn, port


def get(port, path="/", source="127.0.0.1", method="GET", headers=None, body=None, timeout=10):
    """One request from `source` (a loopback address); returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def wait_status(port, want, source="127.0.0.1", path="/", deadline=10.0):
    end = time.monotonic() + deadline
    while True:
        status = get(port, path, source)[0]
        if status == want or time.monotonic() > end:
            return status
        time.sleep(0.05)


def web_acl(waf, rules, default="Allow", name=None, **kw):
    name = name or "acl-" + uuid.uuid4().hex[:10]
    s = waf.create_web_acl(Name=name, Scope="REGIONAL", DefaultAction={default: {}}, Rules=rules,
                           VisibilityConfig=VC(name), **kw)["Summary"]
    return s


# --------------------------------------------------------------------------------------------


def test_seed_scenario_allows_all_but_listed_addresses(server, upstream):
    """The aws CLI creates an IP set and a web ACL that blocks it, associates it with a proxy;
    127.0.0.2 (listed) is refused with 403, 127.0.0.3 reaches the application."""
    proxy, port = create_proxy(server, upstream)
    assert get(port, source="127.0.0.2")[0] == 200  # nothing associated yet
    name = "deny-" + uuid.uuid4().hex[:8]
    ipset = aws(server, "wafv2", "create-ip-set", "--name", name, "--scope", "REGIONAL",
                "--ip-address-version", "IPV4", "--addresses", "127.0.0.2/32", "198.51.100.0/24")["Summary"]
    rules = [{"Name": "deny-listed", "Priority": 0,
              "Statement": {"IPSetReferenceStatement": {"ARN": ipset["ARN"]}},
              "Action": {"Block": {}}, "VisibilityConfig": VC("deny-listed")}]
    acl = aws(server, "wafv2", "create-web-acl", "--name", name, "--scope", "REGIONAL",
              "--default-action", "Allow={}", "--rules", json.dumps(rules),
              "--visibility-config", f"SampledRequestsEnabled=true,CloudWatchMetricsEnabled=true,MetricName={name}")["Summary"]
    aws(server, "wafv2", "associate-web-acl", "--web-acl-arn", acl["ARN"], "--resource-arn", proxy)

    status, headers, body = get(port, source="127.0.0.2")
    assert status == 403
    assert b"403 Forbidden" in body
    assert headers.get("content-type") == "text/html"
    status, _, body = get(port, source="127.0.0.3")
    assert status == 200
    echoed = json.loads(body)
    assert echoed["path"] == "/"
    xff = [v for k, v in echoed["headers"] if k.lower() == "x-forwarded-for"]
    assert xff == ["127.0.0.3"]
    assert [v for k, v in echoed["headers"] if k.lower() == "x-forwarded-proto"] == ["http"]
    assert [v for k, v in echoed["headers"] if k.lower() == "x-forwarded-port"] == [str(port)]

    res = aws(server, "wafv2", "get-web-acl-for-resource", "--resource-arn", proxy)
    assert res["WebACL"]["ARN"] == acl["ARN"]
    assert res["WebACL"]["Capacity"] == 1
    # The sampled requests show the blocked one under the rule's metric name.
    now = int(time.time())
    s = aws(server, "wafv2", "get-sampled-requests", "--web-acl-arn", acl["ARN"],
            "--rule-metric-name", "deny-listed", "--scope", "REGIONAL",
            "--time-window", f"StartTime={now - 600},EndTime={now + 5}", "--max-items", "100")
    assert s["PopulationSize"] >= 1
    assert {(r["Request"]["ClientIP"], r["Action"]) for r in s["SampledRequests"]} == {("127.0.0.2", "BLOCK")}
    blocked = s["SampledRequests"][0]
    assert blocked["ResponseCodeSent"] == 403
    assert blocked["Request"]["Method"] == "GET" and blocked["Request"]["URI"] == "/"
    # Allowed requests are sampled under the web ACL's own metric name.
    s = aws(server, "wafv2", "get-sampled-requests", "--web-acl-arn", acl["ARN"],
            "--rule-metric-name", name, "--scope", "REGIONAL",
            "--time-window", f"StartTime={now - 600},EndTime={now + 5}", "--max-items", "100")
    assert ("127.0.0.3", "ALLOW") in {(r["Request"]["ClientIP"], r["Action"]) for r in s["SampledRequests"]}
    # Per-rule counters on /metrics.
    metrics = server.request("GET", "/metrics").data.decode()
    assert f'rule="deny-listed",metric="BlockedRequests"' in metrics

    # An update of the IP set applies to the next request.
    waf = client(server, "wafv2")
    got = waf.get_ip_set(Name=name, Scope="REGIONAL", Id=ipset["Id"])
    waf.update_ip_set(Name=name, Scope="REGIONAL", Id=ipset["Id"], LockToken=got["LockToken"],
                      Addresses=["127.0.0.3/32"])
    assert get(port, source="127.0.0.3")[0] == 403
    assert get(port, source="127.0.0.2")[0] == 200
    # Disassociated, everything passes again.
    waf.disassociate_web_acl(ResourceArn=proxy)
    assert get(port, source="127.0.0.3")[0] == 200
    rampart(server, "waf", "proxy", "delete", "--endpoint", server.endpoint, proxy)
    with pytest.raises(OSError):
        get(port, timeout=2)


def test_rate_based_rule_blocks_a_burst_and_releases_it_after_the_window(server, upstream):
    waf = client(server, "wafv2")
    proxy, port = create_proxy(server, upstream)
    acl = web_acl(waf, [{"Name": "per-ip", "Priority": 0,
                         "Statement": {"RateBasedStatement": {"Limit": 10, "EvaluationWindowSec": 60,
                                                              "AggregateKeyType": "IP"}},
                         "Action": {"Block": {}}, "VisibilityConfig": VC("per-ip")}])
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=proxy)
    statuses = [get(port, source="127.0.0.4")[0] for _ in range(15)]
    assert statuses[:10] == [200] * 10
    assert statuses[10:] == [403] * 5
    # Another client is not limited.
    assert get(port, source="127.0.0.5")[0] == 200
    keys = waf.get_rate_based_statement_managed_keys(Scope="REGIONAL", WebACLName=acl["Name"],
                                                     WebACLId=acl["Id"], RuleName="per-ip")
    assert keys["ManagedKeysIPV4"] == {"IPAddressVersion": "IPV4", "Addresses": ["127.0.0.4/32"]}
    assert keys["ManagedKeysIPV6"] == {"IPAddressVersion": "IPV6", "Addresses": []}
    # Sixty seconds after the burst the address is below the limit again.
    time.sleep(61)
    assert get(port, source="127.0.0.4")[0] == 200
    keys = waf.get_rate_based_statement_managed_keys(Scope="REGIONAL", WebACLName=acl["Name"],
                                                     WebACLId=acl["Id"], RuleName="per-ip")
    assert keys["ManagedKeysIPV4"]["Addresses"] == []


def test_managed_groups_block_attacks_and_log_in_aws_format(server, upstream):
    waf = client(server, "wafv2")
    proxy, port = create_proxy(server, upstream)
    name = "managed-" + uuid.uuid4().hex[:8]
    rules = [
        {"Name": "common", "Priority": 3,
         "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}},
         "OverrideAction": {"None": {}}, "VisibilityConfig": VC("common")},
        {"Name": "sqli", "Priority": 2,
         "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesSQLiRuleSet"}},
         "OverrideAction": {"None": {}}, "VisibilityConfig": VC("sqli")},
        {"Name": "bad-inputs", "Priority": 0,
         "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesKnownBadInputsRuleSet"}},
         "OverrideAction": {"None": {}}, "VisibilityConfig": VC("bad-inputs")},
    ]
    acl = web_acl(waf, rules, name=name)
    got = waf.get_web_acl(Name=name, Scope="REGIONAL", Id=acl["Id"])["WebACL"]
    assert got["Capacity"] == 1100
    dest = f"arn:aws:logs:us-east-1:{server.account_id}:log-group:aws-waf-logs-{name}"
    waf.put_logging_configuration(LoggingConfiguration={
        "ResourceArn": acl["ARN"], "LogDestinationConfigs": [dest],
        "RedactedFields": [{"SingleHeader": {"Name": "authorization"}}]})
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=proxy)
    ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "Host": "shop.example"}

    assert get(port, "/products?id=42", headers=ua)[0] == 200
    status, _, body = get(port, "/products?id=1%27%20OR%20%271%27%3D%271", headers={**ua, "Authorization": "Bearer s3cret"})
    assert status == 403
    assert get(port, "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", headers=ua)[0] == 403
    assert get(port, "/", headers={"Host": "shop.example"})[0] == 403  # no User-Agent
    form = {**ua, "Content-Type": "application/x-www-form-urlencoded"}
    assert get(port, "/login", method="POST", headers=form, body="user=admin&pass=' or 1=1 --")[0] == 403
    assert get(port, "/login", method="POST", headers=form, body="user=admin&pass=correct-horse")[0] == 200
    assert get(port, "/a/${jndi:ldap://evil.example/x}", headers=ua)[0] == 403

    log = server.data_dir / "waf-logs" / f"aws-waf-logs-{name}.log"
    deadline = time.monotonic() + 10
    records = []
    while time.monotonic() < deadline:
        if log.exists():
            records = [json.loads(l) for l in log.read_text().splitlines() if l.strip()]
            if len(records) >= 7:
                break
        time.sleep(0.1)
    assert len(records) == 7, records
    sqli = records[1]
    for k in ("timestamp", "formatVersion", "webaclId", "terminatingRuleId", "terminatingRuleType",
              "action", "httpSourceName", "httpSourceId", "ruleGroupList", "rateBasedRuleList",
              "nonTerminatingMatchingRules", "httpRequest", "labels"):
        assert k in sqli, k
    assert sqli["formatVersion"] == 1
    assert sqli["webaclId"] == acl["ARN"]
    assert sqli["action"] == "BLOCK"
    assert sqli["terminatingRuleId"] == "sqli"
    assert sqli["terminatingRuleType"] == "MANAGED_RULE_GROUP"
    assert sqli["responseCodeSent"] == 403
    group = [g for g in sqli["ruleGroupList"] if g["terminatingRule"]][0]
    assert group["ruleGroupId"] == "AWS#AWSManagedRulesSQLiRuleSet"
    assert group["terminatingRule"]["ruleId"].startswith("SQLi")
    assert any(l["name"].startswith("awswaf:managed:aws:sql-database:SQLi") for l in sqli["labels"]), sqli["labels"]
    req = sqli["httpRequest"]
    assert req["clientIp"] == "127.0.0.1"
    assert req["uri"] == "/products" and req["args"] == "id=1%27%20OR%20%271%27%3D%271"
    assert req["httpMethod"] == "GET" and req["httpVersion"] == "HTTP/1.1"
    auth = [h for h in req["headers"] if h["name"].lower() == "authorization"]
    assert auth == [{"name": "authorization", "value": "REDACTED"}]
    assert "s3cret" not in log.read_text()
    assert records[0]["action"] == "ALLOW" and records[0]["terminatingRuleId"] == "Default_Action"
    def deciding(r):
        return [g["terminatingRule"]["ruleId"] for g in r["ruleGroupList"] if g["terminatingRule"]]
    assert deciding(records[2])[0].startswith("CrossSiteScripting")
    assert deciding(records[3]) == ["NoUserAgent_HEADER"]
    assert records[6]["terminatingRuleId"] == "bad-inputs"
    # The configuration change and the association are in the trail.
    waf.disassociate_web_acl(ResourceArn=proxy)


def test_custom_responses_inserted_headers_and_labels(server, upstream):
    waf = client(server, "wafv2")
    proxy, port = create_proxy(server, upstream)
    rules = [
        {"Name": "tag-cli", "Priority": 1,
         "Statement": {"ByteMatchStatement": {"SearchString": b"curl/", "PositionalConstraint": "STARTS_WITH",
                                              "FieldToMatch": {"SingleHeader": {"Name": "user-agent"}},
                                              "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}]}},
         "Action": {"Count": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "client", "Value": "cli"}]}}},
         "RuleLabels": [{"Name": "client:cli"}], "VisibilityConfig": VC("tag-cli")},
        {"Name": "cli-admin", "Priority": 2,
         "Statement": {"AndStatement": {"Statements": [
             {"LabelMatchStatement": {"Scope": "LABEL", "Key": "client:cli"}},
             {"ByteMatchStatement": {"SearchString": b"/admin", "PositionalConstraint": "STARTS_WITH",
                                     "FieldToMatch": {"UriPath": {}},
                                     "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}]}},
         "Action": {"Block": {"CustomResponse": {"ResponseCode": 429, "CustomResponseBodyKey": "slow",
                                                 "ResponseHeaders": [{"Name": "Retry-After", "Value": "30"}]}}},
         "VisibilityConfig": VC("cli-admin")},
        {"Name": "big-body", "Priority": 3,
         "Statement": {"SizeConstraintStatement": {"FieldToMatch": {"Body": {"OversizeHandling": "MATCH"}},
                                                   "ComparisonOperator": "GT", "Size": 8192,
                                                   "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}},
         "Action": {"Block": {}}, "VisibilityConfig": VC("big-body")},
        {"Name": "allow-api", "Priority": 4,
         "Statement": {"ByteMatchStatement": {"SearchString": b"/api/", "PositionalConstraint": "STARTS_WITH",
                                              "FieldToMatch": {"UriPath": {}},
                                              "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}},
         "Action": {"Allow": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "zone", "Value": "api"}]}}},
         "VisibilityConfig": VC("allow-api")},
    ]
    acl = web_acl(waf, rules, default="Block",
                  CustomResponseBodies={"slow": {"ContentType": "APPLICATION_JSON", "Content": '{"error":"slow down"}'}})
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=proxy)

    status, headers, body = get(port, "/admin/users", headers={"User-Agent": "curl/8.5"})
    assert status == 429
    assert headers["retry-after"] == "30"
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": "slow down"}
    # Allowed by the Allow rule, with both rules' headers inserted.
    status, _, body = get(port, "/api/items", headers={"User-Agent": "curl/8.5", "x-amzn-waf-zone": "forged"})
    assert status == 200
    hdrs = {k.lower(): v for k, v in json.loads(body)["headers"]}
    assert hdrs["x-amzn-waf-client"] == "cli"
    assert hdrs["x-amzn-waf-zone"] == "api"
    # Default action Block: 403.
    assert get(port, "/other", headers={"User-Agent": "Mozilla/5.0"})[0] == 403
    # A body over 8 KB matches the size rule (oversize MATCH).
    status = get(port, "/api/upload", method="POST", headers={"User-Agent": "x", "Content-Type": "text/plain"},
                 body=b"a" * 9000)[0]
    assert status == 403
    assert get(port, "/api/upload", method="POST", headers={"User-Agent": "x", "Content-Type": "text/plain"},
               body=b"a" * 100)[0] == 200


def test_proxies_listen_again_after_a_restart(spawn, upstream):
    srv = spawn("waf-restart")
    waf = client(srv, "wafv2")
    proxy, port = create_proxy(srv, upstream, name="persist")
    ipset = waf.create_ip_set(Name="deny", Scope="REGIONAL", IPAddressVersion="IPV4",
                              Addresses=["127.0.0.6/32"])["Summary"]
    acl = web_acl(waf, [{"Name": "deny", "Priority": 0,
                         "Statement": {"IPSetReferenceStatement": {"ARN": ipset["ARN"]}},
                         "Action": {"Block": {}}, "VisibilityConfig": VC("deny")}])
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=proxy)
    assert get(port, source="127.0.0.6")[0] == 403
    data_dir = srv.data_dir
    srv.stop()
    with pytest.raises(OSError):
        get(port, timeout=2)
    srv2 = spawn("waf-restart-2", data_dir=data_dir)
    assert wait_status(port, 403, source="127.0.0.6") == 403
    assert get(port, source="127.0.0.7")[0] == 200
    listed = json.loads(rampart(srv2, "waf", "proxy", "list", "--endpoint", srv2.endpoint).stdout)
    (p,) = listed["Proxies"]
    assert p["ProxyArn"] == proxy and p["State"] == "active" and p["WebACLArn"] == acl["ARN"]
    assert p["BoundAddress"] == f"127.0.0.1:{port}"


def test_proxy_api_errors(server, upstream):
    proxy, port = create_proxy(server, upstream)
    name = proxy.split("/")[-2]
    # Same name again; a port in use; a bad upstream; a bad listen address.
    p = rampart(server, "waf", "proxy", "create", "--endpoint", server.endpoint, "--name", name,
                "--listen", f"127.0.0.1:{free_port()}", "--upstream", upstream, check=False)
    assert p.returncode != 0 and "DuplicateProxyName" in p.stderr
    p = rampart(server, "waf", "proxy", "create", "--endpoint", server.endpoint, "--name", "other-" + name[:20],
                "--listen", f"127.0.0.1:{port}", "--upstream", upstream, check=False)
    assert p.returncode != 0 and "ListenerUnavailable" in p.stderr
    p = rampart(server, "waf", "proxy", "create", "--endpoint", server.endpoint, "--name", "x" + name[:20],
                "--listen", "127.0.0.1:0", "--upstream", "ftp://example", check=False)
    assert p.returncode != 0 and "ValidationException" in p.stderr
    p = rampart(server, "waf", "proxy", "create", "--endpoint", server.endpoint, "--name", "y" + name[:20],
                "--listen", "not-an-address", "--upstream", upstream, check=False)
    assert p.returncode != 0 and "ValidationException" in p.stderr
    p = rampart(server, "waf", "proxy", "delete", "--endpoint", server.endpoint,
                proxy[:-16] + "0" * 16, check=False)
    assert p.returncode != 0 and "ProxyNotFound" in p.stderr
    # Unsigned or badly signed calls are refused like any API call.
    p = subprocess.run([server.argv[0], "waf", "proxy", "list", "--endpoint", server.endpoint],
                       capture_output=True, text=True, timeout=60,
                       env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
                            "AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": "wrong",
                            "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    assert p.returncode != 0 and "InvalidSignatureException" in p.stderr


def test_malformed_and_oversized_requests_are_cut_off(server, upstream):
    proxy, port = create_proxy(server, upstream)
    # Oversized headers: 431; a garbage request line: 400.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 431")
    s.close()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"\x00\x01garbage\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 400")
    s.close()
    # A declared body over the limit: 413 without reading it.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 413")
    s.close()
    # A client that never finishes its headers is disconnected (slowloris).
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    start = time.monotonic()
    data = s.recv(100)
    assert time.monotonic() - start < 25
    assert data == b"" or data.startswith(b"HTTP/1.1 408")
    s.close()
    # The proxy still serves.
    assert get(port)[0] == 200


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_http2_through_the_proxy(server, upstream):
    waf = client(server, "wafv2")
    proxy, port = create_proxy(server, upstream)
    acl = web_acl(waf, [{"Name": "sqli", "Priority": 0,
                         "Statement": {"SqliMatchStatement": {"FieldToMatch": {"AllQueryArguments": {}},
                                                              "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}]}},
                         "Action": {"Block": {}}, "VisibilityConfig": VC("sqli")}])
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=proxy)
    out = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                          f"http://127.0.0.1:{port}/x?id=1%27%20or%20%271%27%3D%271"],
                         capture_output=True, text=True, timeout=30).stdout
    assert out == "2 403"
    out = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                          f"http://127.0.0.1:{port}/x?id=42"], capture_output=True, text=True, timeout=30).stdout
    assert out == "2 200"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_waf_guide_runs(spawn, upstream, tmp_path):
    """docs/waf.md's walkthrough, as a reader would run it: the aws CLI, `rampart` and curl."""
    srv = spawn("waf-docs")
    text = (DOCS / "waf.md").read_text()
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
    assert len(blocks) == 2
    port = free_port()
    script = "set -euo pipefail\n" + "\n".join(blocks)
    script = (script.replace("http://127.0.0.1:4566", srv.endpoint)
              .replace("127.0.0.1:8080", f"127.0.0.1:{port}")
              .replace("http://127.0.0.1:3000", upstream)
              .replace("./rampart-data/credentials", str(srv.credentials_file)))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "rampart").symlink_to(srv.argv[0])
    (bindir / "aws").symlink_to(AWS_CLI)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PATH=f"{bindir}:{env.get('PATH', '')}", AWS_CONFIG_FILE=os.devnull)
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split()
    assert lines[:2] == ["403", "200"], p.stdout
    assert lines[2] == "1"  # the web ACL's capacity
    assert "127.0.0.2" in lines and "BLOCK" in lines
    assert lines[-1] == "403"  # after the update, 127.0.0.3 is refused


def test_geo_and_asn_match_with_an_operator_supplied_database(spawn, upstream, tmp_path):
    db = tmp_path / "ip2asn.tsv"
    db.write_text("127.0.0.8\t127.0.0.8\t64500\tFR\tEXAMPLE-FR\n"
                  "127.0.0.9\t127.0.0.9\t64501\tUS\tEXAMPLE-US\n")
    srv = spawn("waf-geo", "--waf-geo-database", str(db))
    waf = client(srv, "wafv2")
    proxy, port = create_proxy(srv, upstream)
    name = "geo-" + uuid.uuid4().hex[:8]
    acl = web_acl(waf, [
        {"Name": "no-fr", "Priority": 0, "Statement": {"GeoMatchStatement": {"CountryCodes": ["FR"]}},
         "Action": {"Block": {}}, "VisibilityConfig": VC("no-fr")},
        {"Name": "as64501", "Priority": 1, "Statement": {"AsnMatchStatement": {"AsnList": [64501]}},
         "Action": {"Count": {}}, "VisibilityConfig": VC("as64501")},
        {"Name": "us-label", "Priority": 2,
         "Statement": {"LabelMatchStatement": {"Scope": "LABEL", "Key": "awswaf:clientip:geo:country:US"}},
         "Action": {"Block": {"CustomResponse": {"ResponseCode": 451}}}, "VisibilityConfig": VC("us-label")},
    ], name=name)
    waf.put_logging_configuration(LoggingConfiguration={
        "ResourceArn": acl["ARN"],
        "LogDestinationConfigs": [f"arn:aws:firehose:us-east-1:{srv.account_id}:deliverystream/aws-waf-logs-{name}"]})
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=proxy)
    assert get(port, source="127.0.0.8")[0] == 403
    # 127.0.0.9 is in the US: the geo statement labels it, the label rule answers 451.
    assert get(port, source="127.0.0.9")[0] == 451
    assert get(port, source="127.0.0.10")[0] == 200
    log = srv.data_dir / "waf-logs" / f"aws-waf-logs-{name}.log"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 3):
        time.sleep(0.1)
    recs = [json.loads(l) for l in log.read_text().splitlines()]
    assert [r["httpRequest"]["country"] for r in recs] == ["FR", "US", "-"]
    assert {"name": "awswaf:clientip:geo:country:US"} in recs[1]["labels"]
    assert [n["ruleId"] for n in recs[1]["nonTerminatingMatchingRules"]] == ["as64501"]


def test_ip_reputation_groups_fed_with_lists(spawn, upstream, tmp_path):
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "AWSManagedIPReputationList.txt").write_text("# known bad\n127.0.0.11\n198.51.100.0/24\n")
    (lists / "AWSManagedIPDDoSList.txt").write_text("127.0.0.12\n")
    srv = spawn("waf-iplists", "--waf-ip-lists", str(lists))
    waf = client(srv, "wafv2")
    d = waf.describe_managed_rule_group(VendorName="AWS", Name="AWSManagedRulesAmazonIpReputationList", Scope="REGIONAL")
    assert d["Capacity"] == 25
    assert d["LabelNamespace"] == "awswaf:managed:aws:amazon-ip-list:"
    assert [(r["Name"], list(r["Action"])) for r in d["Rules"]] == [
        ("AWSManagedIPReputationList", ["Block"]), ("AWSManagedReconnaissanceList", ["Block"]),
        ("AWSManagedIPDDoSList", ["Count"])]
    proxy, port = create_proxy(srv, upstream)
    acl = web_acl(waf, [
        {"Name": "reputation", "Priority": 0,
         "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesAmazonIpReputationList"}},
         "OverrideAction": {"None": {}}, "VisibilityConfig": VC("reputation")},
        {"Name": "anonymous", "Priority": 1,
         "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesAnonymousIpList"}},
         "OverrideAction": {"None": {}}, "VisibilityConfig": VC("anonymous")},
        {"Name": "ddos-label", "Priority": 2,
         "Statement": {"LabelMatchStatement": {"Scope": "LABEL",
                                               "Key": "awswaf:managed:aws:amazon-ip-list:AWSManagedIPDDoSList"}},
         "Action": {"Block": {"CustomResponse": {"ResponseCode": 429}}}, "VisibilityConfig": VC("ddos-label")},
    ])
    assert waf.get_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"])["WebACL"]["Capacity"] == 76
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=proxy)
    assert get(port, source="127.0.0.11")[0] == 403
    assert get(port, source="127.0.0.12")[0] == 429  # the DDoS list only counts; its label is used
    assert get(port, source="127.0.0.13")[0] == 200
    # A list written while the server runs applies within seconds.
    (lists / "AnonymousIPList.txt").write_text("127.0.0.13\n")
    assert wait_status(port, 403, source="127.0.0.13", deadline=30) == 403


def test_tls_termination(server, upstream, tmp_path):
    import datetime as dt
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    certf, keyf = tmp_path / "cert.pem", tmp_path / "key.pem"
    certf.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyf.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    name = "tls-" + uuid.uuid4().hex[:8]
    port = free_port()
    proxy = rampart(server, "waf", "proxy", "create", "--endpoint", server.endpoint, "--name", name,
                    "--listen", f"127.0.0.1:{port}", "--upstream", upstream,
                    "--tls-cert", str(certf), "--tls-key", str(keyf)).stdout.strip()
    waf = client(server, "wafv2")
    acl = web_acl(waf, [{"Name": "xss", "Priority": 0,
                         "Statement": {"XssMatchStatement": {"FieldToMatch": {"QueryString": {}},
                                                             "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}]}},
                         "Action": {"Block": {}}, "VisibilityConfig": VC("xss")}])
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=proxy)
    ctx = ssl.create_default_context(cafile=str(certf))
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
    conn.request("GET", "/page?q=hello")
    r = conn.getresponse()
    body = json.loads(r.read())
    assert r.status == 200
    assert [v for k, v in body["headers"] if k.lower() == "x-forwarded-proto"] == ["https"]
    conn.request("GET", "/page?q=%3Cscript%3Ealert(1)%3C/script%3E")
    r = conn.getresponse()
    r.read()
    assert r.status == 403
    conn.close()
    # A certificate file that is not one is refused at creation.
    p = rampart(server, "waf", "proxy", "create", "--endpoint", server.endpoint, "--name", name + "x",
                "--listen", "127.0.0.1:0", "--upstream", upstream, "--tls-cert", str(keyf), "--tls-key", str(keyf),
                check=False)
    assert p.returncode != 0 and "ValidationException" in p.stderr


def challenge_and_captcha_acl(waf, **kw):
    """A web ACL challenging /app... and asking a CAPTCHA for /login..."""
    prefix = lambda p: {"ByteMatchStatement": {"SearchString": p.encode(), "PositionalConstraint": "STARTS_WITH",  # noqa: E731
                                               "FieldToMatch": {"UriPath": {}},
                                               "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
    return web_acl(waf, [
        {"Name": "challenge-app", "Priority": 0, "Statement": prefix("/app"), "Action": {"Challenge": {}},
         "VisibilityConfig": VC("challenge-app")},
        {"Name": "captcha-login", "Priority": 1, "Statement": prefix("/login"), "Action": {"Captcha": {}},
         "VisibilityConfig": VC("captcha-login")},
    ], **kw)


def test_challenge_and_captcha_issue_tokens(server, upstream):
    import hashlib
    import http.cookies

    waf = client(server, "wafv2")
    proxy, port = create_proxy(server, upstream)
    acl = challenge_and_captcha_acl(waf, ChallengeConfig={"ImmunityTimeProperty": {"ImmunityTime": 300}})
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=proxy)
    html = {"Accept": "text/html,application/xhtml+xml", "User-Agent": "Mozilla/5.0"}

    # An API client gets 202 and the action header, no page.
    status, headers, body = get(port, "/app/data", headers={"Accept": "application/json"})
    assert (status, headers["x-amzn-waf-action"], body) == (202, "challenge", b"")
    # A browser gets the page with a nonce; the proof of work earns a token.
    status, headers, body = get(port, "/app/page", headers=html)
    assert status == 202 and headers["content-type"].startswith("text/html")
    nonce = re.search(r'const nonce = "([^"]+)", bits = (\d+)', body.decode())
    bits = int(nonce.group(2))
    n = nonce.group(1)
    counter = 0
    while True:
        h = hashlib.sha256(f"{n}:{counter}".encode()).digest()
        if int.from_bytes(h, "big") >> (256 - bits) == 0:
            break
        counter += 1
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert get(port, "/.well-known/rampart-waf/challenge", method="POST", headers=form,
               body=f"nonce={n}&counter=not-a-number")[0] == 403
    assert get(port, "/.well-known/rampart-waf/challenge", method="POST", headers=form,
               body=f"nonce=1.forged.nonce&counter={counter}")[0] == 403
    status, headers, _ = get(port, "/.well-known/rampart-waf/challenge", method="POST", headers=form,
                             body=f"nonce={n}&counter={counter}")
    assert status == 200
    cookie = http.cookies.SimpleCookie(headers["set-cookie"])
    token = cookie["aws-waf-token"].value
    assert "HttpOnly" in headers["set-cookie"]
    with_token = {**html, "Cookie": f"aws-waf-token={token}"}
    assert get(port, "/app/page", headers=with_token)[0] == 200
    # A forged token is no token.
    assert get(port, "/app/page", headers={**html, "Cookie": f"aws-waf-token=9{token[1:]}"})[0] == 202
    # The challenge token does not pass a CAPTCHA.
    status, headers, body = get(port, "/login", headers=with_token)
    assert status == 405 and headers["x-amzn-waf-action"] == "captcha"
    page = body.decode()
    n = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    answer = "".join(re.findall(r"<text [^>]*>(.)</text>", page))
    assert len(answer) == 6
    status, _, _ = get(port, "/.well-known/rampart-waf/captcha", method="POST", headers=form,
                       body=f"nonce={n}&answer=WRONG1&return=%2Flogin")
    assert status == 405
    status, headers, _ = get(port, "/.well-known/rampart-waf/captcha", method="POST",
                             headers={**form, "Cookie": f"aws-waf-token={token}"},
                             body=f"nonce={n}&answer={answer.lower()}&return=%2Flogin")
    assert status == 303 and headers["location"] == "/login"
    token2 = http.cookies.SimpleCookie(headers["set-cookie"])["aws-waf-token"].value
    both = {**html, "Cookie": f"aws-waf-token={token2}"}
    assert get(port, "/login", headers=both)[0] == 200
    assert get(port, "/app/page", headers=both)[0] == 200
    # The return address is a path on this site, never another site.
    page = get(port, "/login", headers=html)[2].decode()
    n = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    answer = "".join(re.findall(r"<text [^>]*>(.)</text>", page))
    status, headers, _ = get(port, "/.well-known/rampart-waf/captcha", method="POST", headers=form,
                             body=f"nonce={n}&answer={answer}&return=%2F%2Fevil.example%2F")
    assert status == 303 and headers["location"] == "/"


NODE_HARNESS = r"""
// Loads the proxy's jsapi.js (which carries challenge.js) into Node's fetch/WebCrypto globals,
// as a page of the protected site would, and drives AwsWafIntegration and AwsWafCaptcha.
const [port, apiKey] = process.argv.slice(2);
const origin = `http://127.0.0.1:${port}`;
const sdk = origin + "/.well-known/rampart-waf/";
globalThis.window = globalThis;
globalThis.location = { href: origin + "/" };
function container() {
  const input = { value: "" };
  let submit = null;
  const form = { addEventListener: (_, fn) => { submit = fn; }, querySelector: () => input };
  return {
    style: {}, html: "",
    set innerHTML(h) { this.html = h; }, get innerHTML() { return this.html; },
    querySelector: () => form,
    chars() { return [...this.html.matchAll(/<text [^>]*>(.)<\/text>/g)].map(m => m[1]).join(""); },
    answer(text) { input.value = text; submit({ preventDefault() {} }); },
  };
}
(async () => {
  const r = await fetch(sdk + "jsapi.js");
  globalThis.document = { currentScript: { src: sdk + "jsapi.js" } };
  (0, eval)(await r.text());
  const out = { script: r.headers.get("content-type") };
  out.bare = (await fetch(origin + "/app/data", { headers: { Accept: "application/json" } })).status;
  const token = await AwsWafIntegration.getToken();
  out.hasToken = AwsWafIntegration.hasToken();
  out.sameToken = (await AwsWafIntegration.getToken()) === token;
  out.app = (await AwsWafIntegration.fetch(origin + "/app/data", { headers: { Accept: "application/json" } })).status;
  out.loginBefore = (await AwsWafIntegration.fetch(origin + "/login")).status;
  out.badKey = await new Promise(res => AwsWafCaptcha.renderCaptcha(container(), {
    apiKey: "not-a-key", onSuccess: () => res("success"), onError: e => res(e.kind + " " + e.statusCode) }));
  const events = [];
  const c = container();
  const captchaToken = await new Promise((res, rej) => {
    let loads = 0;
    AwsWafCaptcha.renderCaptcha(c, {
      apiKey,
      onLoad: () => { loads++; events.push("load"); c.answer(loads === 1 ? "WRONG1" : c.chars().toLowerCase()); },
      onPuzzleIncorrect: () => events.push("incorrect"),
      onPuzzleCorrect: () => events.push("correct"),
      onSuccess: res,
      onError: e => rej(e),
    });
  });
  out.events = events;
  out.captchaToken = captchaToken !== token && AwsWafIntegration.hasToken();
  out.loginAfter = (await AwsWafIntegration.fetch(origin + "/login")).status;
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e && e.stack || e); process.exit(1); });
"""


def test_javascript_integration_for_single_page_applications(server, upstream, tmp_path):
    """The JavaScript integration AWS WAF gives single-page applications, served by the proxy:
    challenge.js (AwsWafIntegration: getToken, hasToken, fetch with the x-aws-waf-token header)
    and jsapi.js (AwsWafCaptcha.renderCaptcha with an API key naming the page's domain). Driven
    over HTTP, and by the scripts themselves under Node.js when it is installed."""
    import hashlib

    waf = client(server, "wafv2")
    proxy, port = create_proxy(server, upstream)
    acl = challenge_and_captcha_acl(waf)
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=proxy)
    got = waf.get_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"])
    assert got["ApplicationIntegrationURL"] == "/.well-known/rampart-waf/"
    plain = web_acl(waf, [])
    assert "ApplicationIntegrationURL" not in waf.get_web_acl(Name=plain["Name"], Scope="REGIONAL", Id=plain["Id"])
    key = waf.create_api_key(Scope="REGIONAL", TokenDomains=["shop.example", "127.0.0.1"])["APIKey"]
    other = waf.create_api_key(Scope="REGIONAL", TokenDomains=["elsewhere.example"])["APIKey"]
    assert waf.list_api_keys(Scope="REGIONAL")["ApplicationIntegrationURL"] == "/.well-known/rampart-waf/"

    sdk = "/.well-known/rampart-waf/"
    status, headers, body = get(port, sdk + "challenge.js")
    assert status == 200 and headers["content-type"].startswith("application/javascript")
    assert b"AwsWafIntegration" in body and b"AwsWafCaptcha" not in body
    assert b"AwsWafCaptcha" in get(port, sdk + "jsapi.js")[2]
    assert get(port, sdk + "no-such-file.js")[0] == 200  # not the SDK's: through the web ACL to the app

    # The silent challenge over HTTP: inputs, proof of work, a token in the body and a cookie.
    assert get(port, sdk + "token")[0] == 404
    inputs = json.loads(get(port, sdk + "inputs")[2])
    counter = 0
    while int.from_bytes(hashlib.sha256(f"{inputs['nonce']}:{counter}".encode()).digest(), "big") >> (256 - inputs["bits"]):
        counter += 1
    status, headers, body = get(port, sdk + "challenge", method="POST",
                                headers={"Content-Type": "application/x-www-form-urlencoded"},
                                body=f"nonce={inputs['nonce']}&counter={counter}")
    token = json.loads(body)["token"]
    assert status == 200 and f"aws-waf-token={token}" in headers["set-cookie"]
    api = {"Accept": "application/json"}
    assert get(port, "/app/data", headers=api)[0] == 202
    assert get(port, "/app/data", headers={**api, "x-aws-waf-token": token})[0] == 200
    assert get(port, "/app/data", headers={**api, "x-aws-waf-token": "9" + token[1:]})[0] == 202
    assert json.loads(get(port, sdk + "token", headers={"Cookie": f"aws-waf-token={token}"})[2])["token"]

    # The CAPTCHA API: only with an API key naming the site's domain (or a parent of it).
    site = {"Host": "www.shop.example"}
    assert get(port, sdk + "captcha/problem", headers=site)[0] == 403
    assert get(port, sdk + f"captcha/problem?api_key={other}", headers=site)[0] == 403
    assert get(port, sdk + f"captcha/problem?api_key={key}", headers={"Host": "shop.example.evil"})[0] == 403
    status, _, body = get(port, sdk + f"captcha/problem?api_key={key}", headers=site)
    problem = json.loads(body)
    answer = "".join(re.findall(r"<text [^>]*>(.)</text>", problem["svg"]))
    form = {**site, "Content-Type": "application/x-www-form-urlencoded"}
    assert get(port, sdk + "captcha/verify", method="POST", headers=form,
               body=f"api_key={key}&nonce={problem['nonce']}&answer=WRONG1")[0] == 405
    assert get(port, sdk + "captcha/verify", method="POST", headers=form,
               body=f"api_key={other}&nonce={problem['nonce']}&answer={answer}")[0] == 403
    status, _, body = get(port, sdk + "captcha/verify", method="POST", headers=form,
                          body=f"api_key={key}&nonce={problem['nonce']}&answer={answer}")
    assert status == 200
    solved = json.loads(body)["token"]
    assert get(port, "/login", headers={"x-aws-waf-token": token})[0] == 405
    assert get(port, "/login", headers={"x-aws-waf-token": solved})[0] == 200

    # The scripts themselves, as a page would run them.
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the scripts were checked over HTTP only")
    harness = tmp_path / "harness.js"
    harness.write_text(NODE_HARNESS)
    p = subprocess.run([node, str(harness), str(port), key], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["script"].startswith("application/javascript")
    assert (out["bare"], out["app"]) == (202, 200)
    assert out["hasToken"] and out["sameToken"]
    assert out["loginBefore"] == 405
    assert out["badKey"] == "client_error 403"
    assert out["events"] == ["load", "incorrect", "load", "correct"]
    assert out["captchaToken"] and out["loginAfter"] == 200

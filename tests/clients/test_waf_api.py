"""WAFv2 control plane through boto3 and the aws CLI: web ACLs, rule groups, IP sets and regex
pattern sets (Summary, Get by Name/Scope/Id and by ARN, lock tokens, lists, duplicates, quotas,
references that block deletion), the CLOUDFRONT scope, AWS's validation errors with their Field,
Parameter and Reason members, CheckCapacity with AWS's documented WCU costs, the AWS managed rule
group catalogue, tags, rule group permission policies, logging configurations, associations with
Rampart proxies (modelled as Application Load Balancers), rate-based managed keys, sampled requests,
ByteMatch search strings as bytes, and the CloudTrail events of every call."""
import base64
import datetime as dt
import json
import os
import re
import subprocess
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import aws, client, error_of, request_id_of, wait_for_event

SCOPE = "REGIONAL"
NONE_TT = [{"Priority": 0, "Type": "NONE"}]
NONEXISTENT = "AWS WAF couldn\u2019t perform the operation because your resource doesn\u2019t exist."
STALE = ("AWS WAF couldn\u2019t save your changes because someone changed the resource after you started "
         "to edit it. Reapply your changes.")
DUPLICATE = ("AWS WAF couldn\u2019t perform the operation because some resource in your request is a "
             "duplicate of an existing one.")
ASSOCIATED = ("AWS WAF couldn\u2019t perform the operation because your resource is being used by another "
              "resource or it\u2019s associated with another resource.")
REASON_FORMAT = "The parameter contains formatting that is not valid."
REASON_EXACTLY_ONE = "You have used none or multiple values for a field that requires exactly one value."
REASON_THRESHOLD = "You haven't met a minimum requirement for a threshold setting."
REASON_REFERENCE = "A reference in your rule statement is not valid."
REASON_CAPACITY = "You exceeded the capacity limit for a rule group or web ACL."
REASON_BAD_ARN = ("The ARN isn't valid. A valid ARN begins with arn: and includes other information "
                  "separated by colons or slashes.")
MANAGED = {
    "AWSManagedRulesCommonRuleSet": 700,
    "AWSManagedRulesSQLiRuleSet": 200,
    "AWSManagedRulesKnownBadInputsRuleSet": 200,
    "AWSManagedRulesLinuxRuleSet": 200,
    "AWSManagedRulesUnixRuleSet": 100,
    "AWSManagedRulesWindowsRuleSet": 200,
    "AWSManagedRulesPHPRuleSet": 100,
    "AWSManagedRulesAdminProtectionRuleSet": 100,
}
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def uniq(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def vis(metric="m"):
    return {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": metric}


def fails(call, **kw) -> ClientError:
    with pytest.raises(ClientError) as e:
        call(**kw)
    return e.value


def code_of(exc: ClientError) -> str:
    status, code, _ = error_of(exc)
    assert status == 400, (status, code)
    return code


def invalid_of(exc: ClientError) -> tuple:
    """(Field, Parameter, Reason) of a WAFInvalidParameterException, checking its message."""
    status, code, msg = error_of(exc)
    assert (status, code) == (400, "WAFInvalidParameterException"), (status, code, msg)
    r = exc.response
    # botocore puts a modelled error's members at the top level of the parsed response.
    for member in ("Field", "Parameter", "Reason"):
        assert member in r, f"{member} missing from the error response: {r}"
    assert msg == f"Error reason: {r['Reason']}, field: {r['Field']}, parameter: {r['Parameter']}"
    return r["Field"], r["Parameter"], r["Reason"]


# ---- statements and rules ---------------------------------------------------------------------


def byte_match(pc="EXACTLY", field=None, tts=None, search=b"abc"):
    return {"ByteMatchStatement": {"SearchString": search, "FieldToMatch": field or {"UriPath": {}},
                                   "TextTransformations": tts or NONE_TT, "PositionalConstraint": pc}}


def geo(*codes):
    return {"GeoMatchStatement": {"CountryCodes": list(codes or ["US"])}}


def sqli(level=None, field=None):
    s = {"FieldToMatch": field or {"Body": {}}, "TextTransformations": NONE_TT}
    if level:
        s["SensitivityLevel"] = level
    return {"SqliMatchStatement": s}


def xss():
    return {"XssMatchStatement": {"FieldToMatch": {"Body": {}}, "TextTransformations": NONE_TT}}


def managed(name, scope_down=None):
    s = {"VendorName": "AWS", "Name": name}
    if scope_down:
        s["ScopeDownStatement"] = scope_down
    return {"ManagedRuleGroupStatement": s}


def rule(name, priority, statement, action="Block", labels=None, **extra):
    r = {"Name": name, "Priority": priority, "Statement": statement, "VisibilityConfig": vis(name)}
    if action == "auto":
        action = None if ("ManagedRuleGroupStatement" in statement or
                          "RuleGroupReferenceStatement" in statement) else "Block"
        if action is None:
            r["OverrideAction"] = {"None": {}}
    if action:
        r["Action"] = {action: {}}
    if labels:
        r["RuleLabels"] = [{"Name": n} for n in labels]
    r.update(extra)
    return r


def rules_of(*statements):
    return [rule(f"r{i}", i, s, action="auto") for i, s in enumerate(statements)]


# ---- entities, deleted when the module ends (the session server is shared) --------------------

_CREATED: list = []


def new_acl(waf, rules=(), name=None, track=True, **kw):
    name = name or uniq("acl")
    s = waf.create_web_acl(Name=name, Scope=kw.pop("Scope", SCOPE), DefaultAction=kw.pop("DefaultAction", {"Allow": {}}),
                           Rules=list(rules), VisibilityConfig=vis(name), **kw)["Summary"]
    if track:
        _CREATED.append(("web_acl", waf, s))
    return s


def new_ip_set(waf, addresses=("10.0.0.0/8",), version="IPV4", name=None, track=True, **kw):
    s = waf.create_ip_set(Name=name or uniq("ips"), Scope=kw.pop("Scope", SCOPE), IPAddressVersion=version,
                          Addresses=list(addresses), **kw)["Summary"]
    if track:
        _CREATED.append(("ip_set", waf, s))
    return s


def new_regex_set(waf, regexes=("^/admin",), name=None, track=True, **kw):
    s = waf.create_regex_pattern_set(Name=name or uniq("rx"), Scope=kw.pop("Scope", SCOPE),
                                     RegularExpressionList=[{"RegexString": r} for r in regexes], **kw)["Summary"]
    if track:
        _CREATED.append(("regex_pattern_set", waf, s))
    return s


def new_rule_group(waf, capacity=100, rules=(), name=None, track=True, **kw):
    name = name or uniq("rg")
    s = waf.create_rule_group(Name=name, Scope=kw.pop("Scope", SCOPE), Capacity=capacity, Rules=list(rules),
                              VisibilityConfig=vis(name), **kw)["Summary"]
    if track:
        _CREATED.append(("rule_group", waf, s))
    return s


def delete(waf, kind, s, scope=SCOPE):
    """Deletes an entity with its current lock token."""
    get = getattr(waf, f"get_{kind}")
    token = get(Name=s["Name"], Scope=scope, Id=s["Id"])["LockToken"]
    getattr(waf, f"delete_{kind}")(Name=s["Name"], Scope=scope, Id=s["Id"], LockToken=token)


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    order = {"web_acl": 0, "rule_group": 1, "ip_set": 2, "regex_pattern_set": 3}
    for kind, waf, s in sorted(_CREATED, key=lambda x: order[x[0]]):
        scope = "CLOUDFRONT" if ":global/" in s["ARN"] else SCOPE
        try:
            delete(waf, kind, s, scope)
        except ClientError:
            pass
    _CREATED.clear()


@pytest.fixture(scope="module")
def waf(server):
    return client(server, "wafv2")


@pytest.fixture(scope="module")
def waf_unvalidated(server):
    return client(server, "wafv2", config=Config(parameter_validation=False))


def check_summary(s, server, kind, name, description=""):
    assert set(s) == {"Name", "Id", "Description", "LockToken", "ARN"}, s
    assert s["Name"] == name
    assert UUID_RE.match(s["Id"]), s["Id"]
    assert UUID_RE.match(s["LockToken"]), s["LockToken"]
    assert s["Description"] == description
    assert s["ARN"] == f"arn:aws:wafv2:us-east-1:{server.account_id}:regional/{kind}/{name}/{s['Id']}"


# ---- web ACLs -----------------------------------------------------------------------------------


def test_create_web_acl_summary(waf, server):
    name = uniq("acl")
    s = new_acl(waf, name=name)
    check_summary(s, server, "webacl", name)
    name2 = uniq("acl")
    s2 = new_acl(waf, name=name2, Description="Blocks bad bots")
    check_summary(s2, server, "webacl", name2, "Blocks bad bots")
    assert s2["Id"] != s["Id"]


def test_get_web_acl_by_id_and_by_arn(waf, server):
    name = uniq("acl")
    rules = [rule("geo", 0, geo("US", "CA")), rule("xss", 1, xss(), action="Count")]
    s = new_acl(waf, rules, name=name, Description="desc")
    r = waf.get_web_acl(Name=name, Scope=SCOPE, Id=s["Id"])
    assert r["LockToken"] == s["LockToken"]
    acl = r["WebACL"]
    assert acl["Name"] == name
    assert acl["Id"] == s["Id"]
    assert acl["ARN"] == s["ARN"]
    assert acl["Description"] == "desc"
    assert acl["DefaultAction"] == {"Allow": {}}
    assert acl["Rules"] == rules
    assert acl["VisibilityConfig"] == vis(name)
    assert acl["Capacity"] == 41
    assert acl["LabelNamespace"] == f"awswaf:{server.account_id}:webacl:{name}:"
    assert acl["ManagedByFirewallManager"] is False
    by_arn = waf.get_web_acl(ARN=s["ARN"])
    assert by_arn["WebACL"] == acl
    assert by_arn["LockToken"] == s["LockToken"]


def test_update_and_delete_web_acl_with_lock_tokens(waf):
    name = uniq("acl")
    s = new_acl(waf, name=name)
    new_rules = [rule("sqli", 0, sqli())]
    up = waf.update_web_acl(Name=name, Scope=SCOPE, Id=s["Id"], DefaultAction={"Block": {}}, Rules=new_rules,
                            VisibilityConfig=vis(name), LockToken=s["LockToken"])
    token = up["NextLockToken"]
    assert UUID_RE.match(token) and token != s["LockToken"]
    r = waf.get_web_acl(Name=name, Scope=SCOPE, Id=s["Id"])
    assert r["LockToken"] == token
    assert r["WebACL"]["DefaultAction"] == {"Block": {}}
    assert r["WebACL"]["Rules"] == new_rules
    assert r["WebACL"]["Capacity"] == 20

    e = fails(waf.update_web_acl, Name=name, Scope=SCOPE, Id=s["Id"], DefaultAction={"Allow": {}}, Rules=[],
              VisibilityConfig=vis(name), LockToken=s["LockToken"])
    assert error_of(e) == (400, "WAFOptimisticLockException", STALE)
    e = fails(waf.delete_web_acl, Name=name, Scope=SCOPE, Id=s["Id"], LockToken=s["LockToken"])
    assert error_of(e) == (400, "WAFOptimisticLockException", STALE)
    assert waf.get_web_acl(Name=name, Scope=SCOPE, Id=s["Id"])["WebACL"]["Rules"] == new_rules

    waf.delete_web_acl(Name=name, Scope=SCOPE, Id=s["Id"], LockToken=token)
    e = fails(waf.get_web_acl, Name=name, Scope=SCOPE, Id=s["Id"])
    assert error_of(e) == (400, "WAFNonexistentItemException", NONEXISTENT)
    e = fails(waf.get_web_acl, ARN=s["ARN"])
    assert error_of(e) == (400, "WAFNonexistentItemException", NONEXISTENT)
    assert s["Id"] not in {a["Id"] for a in list_all(waf.list_web_acls, "WebACLs")}


def test_unknown_name_or_id_is_nonexistent(waf):
    s = new_acl(waf)
    missing = str(uuid.uuid4())
    token = str(uuid.uuid4())
    calls = [
        (waf.get_web_acl, dict(Name=s["Name"], Scope=SCOPE, Id=missing)),
        (waf.get_web_acl, dict(Name=uniq("nope"), Scope=SCOPE, Id=s["Id"])),
        (waf.update_web_acl, dict(Name=s["Name"], Scope=SCOPE, Id=missing, DefaultAction={"Allow": {}},
                                  VisibilityConfig=vis(), LockToken=token)),
        (waf.delete_web_acl, dict(Name=s["Name"], Scope=SCOPE, Id=missing, LockToken=token)),
        (waf.get_rule_group, dict(Name=uniq("nope"), Scope=SCOPE, Id=missing)),
        (waf.get_ip_set, dict(Name=uniq("nope"), Scope=SCOPE, Id=missing)),
        (waf.update_ip_set, dict(Name=uniq("nope"), Scope=SCOPE, Id=missing, Addresses=[], LockToken=token)),
        (waf.delete_ip_set, dict(Name=uniq("nope"), Scope=SCOPE, Id=missing, LockToken=token)),
        (waf.get_regex_pattern_set, dict(Name=uniq("nope"), Scope=SCOPE, Id=missing)),
        (waf.delete_regex_pattern_set, dict(Name=uniq("nope"), Scope=SCOPE, Id=missing, LockToken=token)),
        (waf.delete_rule_group, dict(Name=uniq("nope"), Scope=SCOPE, Id=missing, LockToken=token)),
    ]
    for call, kw in calls:
        e = fails(call, **kw)
        assert error_of(e) == (400, "WAFNonexistentItemException", NONEXISTENT), (call, kw)
    # The web ACL itself is untouched.
    assert waf.get_web_acl(Name=s["Name"], Scope=SCOPE, Id=s["Id"])["LockToken"] == s["LockToken"]


def test_duplicate_names(waf, server):
    name = uniq("dup")
    new_acl(waf, name=name)
    e = fails(waf.create_web_acl, Name=name, Scope=SCOPE, DefaultAction={"Allow": {}}, Rules=[],
              VisibilityConfig=vis())
    assert error_of(e) == (400, "WAFDuplicateItemException", DUPLICATE)
    # Another kind, or the other scope, may use the name.
    new_ip_set(waf, name=name)
    cf = new_acl(waf, name=name, Scope="CLOUDFRONT")
    assert cf["ARN"] == f"arn:aws:wafv2:us-east-1:{server.account_id}:global/webacl/{name}/{cf['Id']}"
    for create, kw in [
        (new_ip_set, {}),
        (new_regex_set, {}),
        (new_rule_group, {}),
    ]:
        n = uniq("dup")
        create(waf, name=n, **kw)
        e = fails(lambda: create(waf, name=n, track=False, **kw))
        assert error_of(e) == (400, "WAFDuplicateItemException", DUPLICATE), create


def list_all(call, key, limit=None, **kw):
    out, marker = [], None
    for _ in range(500):
        args = {"Scope": SCOPE, **kw}
        if limit:
            args["Limit"] = limit
        if marker:
            args["NextMarker"] = marker
        r = call(**args)
        out += r[key]
        marker = r.get("NextMarker")
        # AWS returns NextMarker (the last item's name) on the last page too; an empty page ends.
        if not marker or not r[key]:
            return out
    raise AssertionError("endless paging")


def test_list_web_acls_and_paging(waf):
    made = [new_acl(waf, Description=f"number {i}") for i in range(3)]
    first = waf.list_web_acls(Scope=SCOPE, Limit=1)
    assert len(first["WebACLs"]) == 1
    assert first.get("NextMarker")
    seen = list_all(waf.list_web_acls, "WebACLs", limit=2)
    ids = [a["Id"] for a in seen]
    assert len(ids) == len(set(ids))
    by_id = {a["Id"]: a for a in seen}
    for s in made:
        assert by_id[s["Id"]] == s  # Name, Id, Description, LockToken, ARN
    assert {a["Id"] for a in list_all(waf.list_web_acls, "WebACLs")} == set(ids)


def test_cloudfront_scope(waf, server):
    name = uniq("cf")
    s = new_ip_set(waf, name=name, Scope="CLOUDFRONT", addresses=["192.0.2.0/24"])
    assert s["ARN"] == f"arn:aws:wafv2:us-east-1:{server.account_id}:global/ipset/{name}/{s['Id']}"
    got = waf.get_ip_set(Name=name, Scope="CLOUDFRONT", Id=s["Id"])["IPSet"]
    assert got["ARN"] == s["ARN"] and got["Addresses"] == ["192.0.2.0/24"]
    e = fails(waf.get_ip_set, Name=name, Scope=SCOPE, Id=s["Id"])
    assert error_of(e)[1] == "WAFNonexistentItemException"
    assert s["Id"] in {x["Id"] for x in list_all(waf.list_ip_sets, "IPSets", Scope="CLOUDFRONT")}
    assert s["Id"] not in {x["Id"] for x in list_all(waf.list_ip_sets, "IPSets")}
    eu = client(server, "wafv2", region_name="eu-west-1")
    e = fails(eu.create_ip_set, Name=uniq("cf"), Scope="CLOUDFRONT", IPAddressVersion="IPV4", Addresses=[])
    assert invalid_of(e) == ("SCOPE_VALUE", "CLOUDFRONT", "The scope is not valid.")
    e = fails(eu.list_web_acls, Scope="CLOUDFRONT")
    assert invalid_of(e) == ("SCOPE_VALUE", "CLOUDFRONT", "The scope is not valid.")


# ---- IP sets and regex pattern sets -------------------------------------------------------------


def test_ip_set_crud(waf, server):
    name = uniq("ips")
    s = new_ip_set(waf, ["10.0.0.0/8", "192.0.2.44/32"], name=name, Description="office")
    check_summary(s, server, "ipset", name, "office")
    r = waf.get_ip_set(Name=name, Scope=SCOPE, Id=s["Id"])
    assert r["LockToken"] == s["LockToken"]
    assert r["IPSet"] == {"Name": name, "Id": s["Id"], "ARN": s["ARN"], "Description": "office",
                          "IPAddressVersion": "IPV4", "Addresses": ["10.0.0.0/8", "192.0.2.44/32"]}
    up = waf.update_ip_set(Name=name, Scope=SCOPE, Id=s["Id"], Addresses=["198.51.100.0/24"], Description="office",
                           LockToken=s["LockToken"])
    assert UUID_RE.match(up["NextLockToken"]) and up["NextLockToken"] != s["LockToken"]
    r = waf.get_ip_set(Name=name, Scope=SCOPE, Id=s["Id"])
    assert r["IPSet"]["Addresses"] == ["198.51.100.0/24"]
    assert r["LockToken"] == up["NextLockToken"]
    e = fails(waf.update_ip_set, Name=name, Scope=SCOPE, Id=s["Id"], Addresses=[], LockToken=s["LockToken"])
    assert error_of(e) == (400, "WAFOptimisticLockException", STALE)
    listed = {x["Id"]: x for x in list_all(waf.list_ip_sets, "IPSets")}
    assert listed[s["Id"]] == {**s, "LockToken": up["NextLockToken"]}
    v6 = new_ip_set(waf, ["2001:db8::/32"], version="IPV6")
    assert waf.get_ip_set(Name=v6["Name"], Scope=SCOPE, Id=v6["Id"])["IPSet"]["IPAddressVersion"] == "IPV6"
    e = fails(waf.delete_ip_set, Name=name, Scope=SCOPE, Id=s["Id"], LockToken=s["LockToken"])
    assert error_of(e) == (400, "WAFOptimisticLockException", STALE)
    waf.delete_ip_set(Name=name, Scope=SCOPE, Id=s["Id"], LockToken=up["NextLockToken"])
    assert error_of(fails(waf.get_ip_set, Name=name, Scope=SCOPE, Id=s["Id"]))[1] == "WAFNonexistentItemException"


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "0.0.0.0/0"])
def test_ip_set_bad_cidr(waf, bad):
    e = fails(waf.create_ip_set, Name=uniq("ips"), Scope=SCOPE, IPAddressVersion="IPV4",
              Addresses=["10.1.0.0/16", bad])
    assert invalid_of(e) == ("IP_ADDRESS", bad, REASON_FORMAT)
    s = new_ip_set(waf)
    e = fails(waf.update_ip_set, Name=s["Name"], Scope=SCOPE, Id=s["Id"], Addresses=[bad], LockToken=s["LockToken"])
    assert invalid_of(e) == ("IP_ADDRESS", bad, REASON_FORMAT)


def test_regex_pattern_set_crud_and_limits(waf, server):
    name = uniq("rx")
    s = new_regex_set(waf, ["^/admin", "(?i)bot"], name=name, Description="login paths")
    check_summary(s, server, "regexpatternset", name, "login paths")
    r = waf.get_regex_pattern_set(Name=name, Scope=SCOPE, Id=s["Id"])
    assert r["LockToken"] == s["LockToken"]
    assert r["RegexPatternSet"] == {"Name": name, "Id": s["Id"], "ARN": s["ARN"], "Description": "login paths",
                                    "RegularExpressionList": [{"RegexString": "^/admin"}, {"RegexString": "(?i)bot"}]}
    regexes = [{"RegexString": f"^/p{i}$"} for i in range(10)]
    up = waf.update_regex_pattern_set(Name=name, Scope=SCOPE, Id=s["Id"], RegularExpressionList=regexes,
                                      Description="login paths", LockToken=s["LockToken"])
    assert UUID_RE.match(up["NextLockToken"]) and up["NextLockToken"] != s["LockToken"]
    r = waf.get_regex_pattern_set(Name=name, Scope=SCOPE, Id=s["Id"])
    assert r["RegexPatternSet"]["RegularExpressionList"] == regexes
    assert r["LockToken"] == up["NextLockToken"]
    e = fails(waf.update_regex_pattern_set, Name=name, Scope=SCOPE, Id=s["Id"], RegularExpressionList=regexes,
              LockToken=s["LockToken"])
    assert error_of(e) == (400, "WAFOptimisticLockException", STALE)
    listed = {x["Id"]: x for x in list_all(waf.list_regex_pattern_sets, "RegexPatternSets")}
    assert listed[s["Id"]]["LockToken"] == up["NextLockToken"]
    assert listed[s["Id"]]["ARN"] == s["ARN"]

    # More than 10 regexes, or one longer than 200 characters.
    eleven = regexes + [{"RegexString": "^/eleven$"}]
    e = fails(waf.update_regex_pattern_set, Name=name, Scope=SCOPE, Id=s["Id"], RegularExpressionList=eleven,
              LockToken=up["NextLockToken"])
    assert code_of(e) == "WAFLimitsExceededException"
    e = fails(waf.create_regex_pattern_set, Name=uniq("rx"), Scope=SCOPE, RegularExpressionList=eleven)
    assert code_of(e) == "WAFLimitsExceededException"
    e = fails(waf.create_regex_pattern_set, Name=uniq("rx"), Scope=SCOPE,
              RegularExpressionList=[{"RegexString": "a" * 201}])
    assert code_of(e) == "WAFLimitsExceededException"
    e = fails(waf.create_regex_pattern_set, Name=uniq("rx"), Scope=SCOPE,
              RegularExpressionList=[{"RegexString": "^/ok$"}, {"RegexString": "(unclosed"}])
    field, _, _ = invalid_of(e)
    assert field == "REGEX_PATTERN_SET"
    # 200 characters is fine.
    ok = new_regex_set(waf, ["b" * 200], track=False)
    delete(waf, "regex_pattern_set", ok)

    waf.delete_regex_pattern_set(Name=name, Scope=SCOPE, Id=s["Id"], LockToken=up["NextLockToken"])
    e = fails(waf.get_regex_pattern_set, Name=name, Scope=SCOPE, Id=s["Id"])
    assert error_of(e) == (400, "WAFNonexistentItemException", NONEXISTENT)


def test_get_without_description_returns_empty_description(waf):
    # AWS returns "Description": "" from Get when none was given (as in the Summary).
    acl = new_acl(waf)
    assert waf.get_web_acl(ARN=acl["ARN"])["WebACL"].get("Description", "<absent>") == ""
    rg = new_rule_group(waf, capacity=1)
    assert waf.get_rule_group(ARN=rg["ARN"])["RuleGroup"].get("Description", "<absent>") == ""
    ips = new_ip_set(waf)
    assert waf.get_ip_set(Name=ips["Name"], Scope=SCOPE, Id=ips["Id"])["IPSet"].get("Description", "<absent>") == ""
    rx = new_regex_set(waf, track=False)
    try:
        got = waf.get_regex_pattern_set(Name=rx["Name"], Scope=SCOPE, Id=rx["Id"])["RegexPatternSet"]
        assert got.get("Description", "<absent>") == ""
    finally:
        delete(waf, "regex_pattern_set", rx)


def test_regex_pattern_set_quota(spawn):
    srv = spawn("waf-quota")
    w = client(srv, "wafv2")
    for i in range(10):
        new_regex_set(w, [f"^q{i}$"], track=False)
    e = fails(w.create_regex_pattern_set, Name=uniq("rx"), Scope=SCOPE, RegularExpressionList=[{"RegexString": "x"}])
    assert code_of(e) == "WAFLimitsExceededException"
    # IP sets have their own quota of 100.
    new_ip_set(w, track=False)


# ---- rule groups --------------------------------------------------------------------------------


def test_rule_group_crud_labels(waf, server):
    name = uniq("rg")
    consumed = "awswaf:managed:aws:core-rule-set:NoUserAgent_Header"
    rules = [
        rule("geo", 0, geo("FR"), labels=["geo:fr", "blocked"]),
        rule("label", 1, {"LabelMatchStatement": {"Scope": "LABEL", "Key": consumed}}, action="Count"),
    ]
    s = new_rule_group(waf, capacity=50, rules=rules, name=name, Description="shared rules")
    check_summary(s, server, "rulegroup", name, "shared rules")
    r = waf.get_rule_group(Name=name, Scope=SCOPE, Id=s["Id"])
    assert r["LockToken"] == s["LockToken"]
    rg = r["RuleGroup"]
    ns = f"awswaf:{server.account_id}:rulegroup:{name}:"
    assert (rg["Name"], rg["Id"], rg["ARN"], rg["Description"]) == (name, s["Id"], s["ARN"], "shared rules")
    assert rg["Capacity"] == 50
    assert rg["Rules"] == rules
    assert rg["VisibilityConfig"] == vis(name)
    assert rg["LabelNamespace"] == ns
    assert sorted(rg["AvailableLabels"], key=lambda x: x["Name"]) == [{"Name": ns + "blocked"}, {"Name": ns + "geo:fr"}]
    assert rg["ConsumedLabels"] == [{"Name": consumed}]
    assert waf.get_rule_group(ARN=s["ARN"])["RuleGroup"] == rg

    new_rules = [rule("xss", 0, xss())]
    up = waf.update_rule_group(Name=name, Scope=SCOPE, Id=s["Id"], Rules=new_rules, VisibilityConfig=vis(name),
                               Description="shared rules", LockToken=s["LockToken"])
    assert UUID_RE.match(up["NextLockToken"]) and up["NextLockToken"] != s["LockToken"]
    r = waf.get_rule_group(Name=name, Scope=SCOPE, Id=s["Id"])
    assert r["LockToken"] == up["NextLockToken"]
    assert r["RuleGroup"]["Rules"] == new_rules
    assert r["RuleGroup"]["Capacity"] == 50
    assert "AvailableLabels" not in r["RuleGroup"] and "ConsumedLabels" not in r["RuleGroup"]
    e = fails(waf.update_rule_group, Name=name, Scope=SCOPE, Id=s["Id"], Rules=[], VisibilityConfig=vis(name),
              LockToken=s["LockToken"])
    assert error_of(e) == (400, "WAFOptimisticLockException", STALE)
    listed = {x["Id"]: x for x in list_all(waf.list_rule_groups, "RuleGroups")}
    assert listed[s["Id"]] == {**s, "LockToken": up["NextLockToken"]}
    e = fails(waf.delete_rule_group, Name=name, Scope=SCOPE, Id=s["Id"], LockToken=s["LockToken"])
    assert error_of(e) == (400, "WAFOptimisticLockException", STALE)
    waf.delete_rule_group(Name=name, Scope=SCOPE, Id=s["Id"], LockToken=up["NextLockToken"])
    e = fails(waf.get_rule_group, ARN=s["ARN"])
    assert error_of(e) == (400, "WAFNonexistentItemException", NONEXISTENT)


def test_rule_group_capacity_exceeded(waf):
    e = fails(waf.create_rule_group, Name=uniq("rg"), Scope=SCOPE, Capacity=39, Rules=[rule("xss", 0, xss())],
              VisibilityConfig=vis())
    field, _, reason = invalid_of(e)
    assert (field, reason) == ("RULE_GROUP", REASON_CAPACITY)
    s = new_rule_group(waf, capacity=40, rules=[rule("xss", 0, xss())])  # exactly enough
    e = fails(waf.update_rule_group, Name=s["Name"], Scope=SCOPE, Id=s["Id"],
              Rules=[rule("xss", 0, xss()), rule("geo", 1, geo())], VisibilityConfig=vis(), LockToken=s["LockToken"])
    field, _, reason = invalid_of(e)
    assert (field, reason) == ("RULE_GROUP", REASON_CAPACITY)


def test_rule_group_cannot_hold_a_managed_rule_group(waf):
    e = fails(waf.create_rule_group, Name=uniq("rg"), Scope=SCOPE, Capacity=1000,
              Rules=[rule("m", 0, managed("AWSManagedRulesSQLiRuleSet"), action="auto")], VisibilityConfig=vis())
    invalid_of(e)


# ---- references block deletion ------------------------------------------------------------------


def test_referenced_entities_cannot_be_deleted(waf):
    ips = new_ip_set(waf)
    rx = new_regex_set(waf)
    rg = new_rule_group(waf, capacity=10, rules=[rule("g", 0, geo())])
    acl = new_acl(waf, [
        rule("ip", 0, {"IPSetReferenceStatement": {"ARN": ips["ARN"]}}),
        rule("rx", 1, {"RegexPatternSetReferenceStatement": {"ARN": rx["ARN"], "FieldToMatch": {"UriPath": {}},
                                                             "TextTransformations": NONE_TT}}),
        rule("rg", 2, {"RuleGroupReferenceStatement": {"ARN": rg["ARN"]}}, action="auto"),
    ])
    assert waf.get_web_acl(ARN=acl["ARN"])["WebACL"]["Capacity"] == 1 + 25 + 10
    for kind, s in (("ip_set", ips), ("regex_pattern_set", rx), ("rule_group", rg)):
        e = fails(getattr(waf, f"delete_{kind}"), Name=s["Name"], Scope=SCOPE, Id=s["Id"], LockToken=s["LockToken"])
        assert error_of(e) == (400, "WAFAssociatedItemException", ASSOCIATED), kind
    delete(waf, "web_acl", acl)
    for kind, s in (("rule_group", rg), ("ip_set", ips), ("regex_pattern_set", rx)):
        getattr(waf, f"delete_{kind}")(Name=s["Name"], Scope=SCOPE, Id=s["Id"], LockToken=s["LockToken"])


def test_set_referenced_by_a_rule_group_cannot_be_deleted(waf):
    ips = new_ip_set(waf)
    rg = new_rule_group(waf, capacity=10, rules=[rule("ip", 0, {"IPSetReferenceStatement": {"ARN": ips["ARN"]}})])
    e = fails(waf.delete_ip_set, Name=ips["Name"], Scope=SCOPE, Id=ips["Id"], LockToken=ips["LockToken"])
    assert error_of(e) == (400, "WAFAssociatedItemException", ASSOCIATED)
    delete(waf, "rule_group", rg)
    waf.delete_ip_set(Name=ips["Name"], Scope=SCOPE, Id=ips["Id"], LockToken=ips["LockToken"])


# ---- validation ---------------------------------------------------------------------------------


def create_acl_error(waf, rules):
    return fails(waf.create_web_acl, Name=uniq("bad"), Scope=SCOPE, DefaultAction={"Allow": {}}, Rules=rules,
                 VisibilityConfig=vis())


def test_statement_with_two_types(waf):
    e = create_acl_error(waf, [rule("two", 0, {**geo(), **xss()})])
    assert invalid_of(e) == ("STATEMENT", "Statement", REASON_EXACTLY_ONE)


def test_invalid_update_keeps_the_web_acl_and_its_lock_token(waf):
    rules = [rule("geo", 0, geo())]
    s = new_acl(waf, rules)
    e = fails(waf.update_web_acl, Name=s["Name"], Scope=SCOPE, Id=s["Id"], DefaultAction={"Allow": {}},
              Rules=[rule("two", 0, {**geo(), **xss()})], VisibilityConfig=vis(s["Name"]), LockToken=s["LockToken"])
    assert invalid_of(e) == ("STATEMENT", "Statement", REASON_EXACTLY_ONE)
    r = waf.get_web_acl(ARN=s["ARN"])
    assert (r["LockToken"], r["WebACL"]["Rules"]) == (s["LockToken"], rules)
    waf.update_web_acl(Name=s["Name"], Scope=SCOPE, Id=s["Id"], DefaultAction={"Allow": {}}, Rules=[],
                       VisibilityConfig=vis(s["Name"]), LockToken=s["LockToken"])


def test_check_capacity_validates_rules(waf):
    e = fails(waf.check_capacity, Scope=SCOPE, Rules=[rule("two", 0, {**geo(), **xss()})])
    assert invalid_of(e) == ("STATEMENT", "Statement", REASON_EXACTLY_ONE)
    e = fails(waf.check_capacity, Scope=SCOPE, Rules=[rule("and", 0, {"AndStatement": {"Statements": [geo()]}})])
    assert invalid_of(e)[0] == "AND_STATEMENT"


def test_rule_needs_exactly_one_of_action_and_override_action(waf):
    both = rule("both", 0, geo(), OverrideAction={"None": {}})
    assert invalid_of(create_acl_error(waf, [both])) == ("RULE", "Rule", REASON_EXACTLY_ONE)
    neither = rule("neither", 0, geo(), action=None)
    assert invalid_of(create_acl_error(waf, [neither])) == ("RULE", "Rule", REASON_EXACTLY_ONE)


def test_and_statement_needs_two_statements(waf):
    field, _, reason = invalid_of(create_acl_error(waf, [rule("and", 0, {"AndStatement": {"Statements": [geo()]}})]))
    assert field == "AND_STATEMENT"
    assert reason.startswith(REASON_THRESHOLD), reason


def test_reference_to_missing_ip_set(waf, server):
    arn = f"arn:aws:wafv2:us-east-1:{server.account_id}:regional/ipset/missing/{uuid.uuid4()}"
    e = create_acl_error(waf, [rule("ip", 0, {"IPSetReferenceStatement": {"ARN": arn}})])
    assert invalid_of(e) == ("RULE", "Statement", REASON_REFERENCE)


def test_unknown_managed_rule_group(waf):
    e = create_acl_error(waf, [rule("m", 0, managed("AWSManagedRulesNoSuchRuleSet"), action="auto")])
    assert error_of(e) == (400, "WAFNonexistentItemException",
                           "ManagedRules with name AWSManagedRulesNoSuchRuleSet by vendor AWS does not exist. "
                           "Please check your inputs")


def test_duplicate_rule_names_and_priorities(waf):
    e = create_acl_error(waf, [rule("same", 0, geo()), rule("same", 1, geo("CA"))])
    assert invalid_of(e)[0] == "RULE"
    e = create_acl_error(waf, [rule("a", 3, geo()), rule("b", 3, geo("CA"))])
    assert invalid_of(e)[0] == "RULE"


def test_regex_match_with_invalid_regex(waf):
    st = {"RegexMatchStatement": {"RegexString": "(unclosed", "FieldToMatch": {"UriPath": {}},
                                  "TextTransformations": NONE_TT}}
    invalid_of(create_acl_error(waf, [rule("rx", 0, st)]))


def test_model_validation_errors(waf_unvalidated):
    w = waf_unvalidated
    e = fails(w.create_ip_set, Name="has space", Scope=SCOPE, IPAddressVersion="IPV4", Addresses=[])
    status, code, msg = error_of(e)
    assert (status, code) == (400, "ValidationException")
    assert msg == ("1 validation error detected: Value 'has space' at 'name' failed to satisfy constraint: "
                   "Member must satisfy regular expression pattern: ^[\\w\\-]+$")
    e = fails(w.list_web_acls, Scope=SCOPE, Limit=0)
    status, code, msg = error_of(e)
    assert (status, code) == (400, "ValidationException")
    assert msg == ("1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
                   "Member must have value greater than or equal to 1")
    e = fails(w.list_ip_sets, Scope="GLOBAL")
    status, code, msg = error_of(e)
    assert (status, code) == (400, "ValidationException")
    assert msg.startswith("1 validation error detected: Value 'GLOBAL' at 'scope' failed to satisfy constraint"), msg


# ---- CheckCapacity ------------------------------------------------------------------------------


def capacity(waf, *statements):
    return waf.check_capacity(Scope=SCOPE, Rules=rules_of(*statements))["Capacity"]


AWS_CLI_EXAMPLE = [
    {"Name": "basic-rule", "Priority": 0,
     "Statement": {"AndStatement": {"Statements": [
         {"ByteMatchStatement": {"SearchString": "example.com", "FieldToMatch": {"SingleHeader": {"Name": "host"}},
                                 "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}],
                                 "PositionalConstraint": "EXACTLY"}},
         {"GeoMatchStatement": {"CountryCodes": ["US", "IN"]}}]}},
     "Action": {"Allow": {}},
     "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "basic-rule"}},
    {"Name": "rate-rule", "Priority": 1,
     "Statement": {"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "IP"}},
     "Action": {"Block": {}},
     "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "rate-rule"}},
]


def test_check_capacity_aws_example(waf):
    assert waf.check_capacity(Scope=SCOPE, Rules=AWS_CLI_EXAMPLE)["Capacity"] == 15
    assert waf.check_capacity(Scope=SCOPE, Rules=[])["Capacity"] == 0


@pytest.mark.parametrize("statement,wcu", [
    (byte_match("EXACTLY"), 2),
    (byte_match("STARTS_WITH"), 2),
    (byte_match("ENDS_WITH"), 2),
    (byte_match("CONTAINS"), 10),
    (byte_match("CONTAINS_WORD"), 10),
    (byte_match("EXACTLY", tts=[{"Priority": 0, "Type": "LOWERCASE"}]), 12),
    (byte_match("EXACTLY", tts=[{"Priority": 0, "Type": "LOWERCASE"}, {"Priority": 1, "Type": "URL_DECODE"}]), 22),
    (byte_match("EXACTLY", field={"AllQueryArguments": {}}), 12),
    (byte_match("EXACTLY", field={"JsonBody": {"MatchPattern": {"All": {}}, "MatchScope": "ALL"}}), 4),
    (byte_match("CONTAINS", field={"JsonBody": {"MatchPattern": {"All": {}}, "MatchScope": "ALL"}}), 20),
    ({"RegexMatchStatement": {"RegexString": "^/a+$", "FieldToMatch": {"UriPath": {}}, "TextTransformations": NONE_TT}}, 3),
    (sqli(), 20),
    (sqli("LOW"), 20),
    (sqli("HIGH"), 30),
    (xss(), 40),
    ({"SizeConstraintStatement": {"FieldToMatch": {"UriPath": {}}, "ComparisonOperator": "GT", "Size": 100,
                                  "TextTransformations": NONE_TT}}, 1),
    (geo("US", "IN"), 1),
    ({"AsnMatchStatement": {"AsnList": [64496]}}, 1),
    ({"LabelMatchStatement": {"Scope": "LABEL", "Key": "awswaf:managed:aws:sql-database:SQLi_Body"}}, 1),
    ({"AndStatement": {"Statements": [byte_match("EXACTLY"), geo()]}}, 3),
    ({"OrStatement": {"Statements": [xss(), sqli(), geo()]}}, 61),
    ({"NotStatement": {"Statement": sqli("HIGH")}}, 30),
    ({"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "IP"}}, 2),
    ({"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "IP", "ScopeDownStatement": geo()}}, 3),
    ({"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "CUSTOM_KEYS", "CustomKeys": [
        {"Header": {"Name": "x-api-key", "TextTransformations": NONE_TT}},
        {"QueryArgument": {"Name": "q", "TextTransformations": NONE_TT}}]}}, 62),
    (managed("AWSManagedRulesCommonRuleSet", scope_down=geo()), 701),
], ids=lambda x: None if isinstance(x, dict) else str(x))
def test_check_capacity_costs(waf, statement, wcu):
    assert capacity(waf, statement) == wcu


def test_check_capacity_managed_groups(waf):
    for name, wcu in MANAGED.items():
        assert capacity(waf, managed(name)) == wcu, name
    assert capacity(waf, *[managed(n) for n in MANAGED]) == sum(MANAGED.values())


def test_check_capacity_references(waf):
    ips = new_ip_set(waf)
    rx = new_regex_set(waf)
    rg = new_rule_group(waf, capacity=77, rules=[rule("g", 0, geo())])
    fwd = {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH"}
    assert capacity(waf, {"IPSetReferenceStatement": {"ARN": ips["ARN"]}}) == 1
    assert capacity(waf, {"IPSetReferenceStatement": {"ARN": ips["ARN"],
                                                      "IPSetForwardedIPConfig": {**fwd, "Position": "ANY"}}}) == 5
    assert capacity(waf, {"IPSetReferenceStatement": {"ARN": ips["ARN"],
                                                      "IPSetForwardedIPConfig": {**fwd, "Position": "FIRST"}}}) == 1
    assert capacity(waf, {"RegexPatternSetReferenceStatement": {"ARN": rx["ARN"], "FieldToMatch": {"UriPath": {}},
                                                                "TextTransformations": NONE_TT}}) == 25
    assert capacity(waf, {"RuleGroupReferenceStatement": {"ARN": rg["ARN"]}}) == 77
    delete(waf, "rule_group", rg)
    delete(waf, "regex_pattern_set", rx)


def test_check_capacity_rule_labels(waf):
    six = [rule("a", 0, geo(), labels=[f"l{i}" for i in range(6)])]
    assert waf.check_capacity(Scope=SCOPE, Rules=six)["Capacity"] == 1 + 2
    five = [rule("a", 0, geo(), labels=["x1", "x2", "x3"]), rule("b", 1, geo(), labels=["y1", "y2"])]
    assert waf.check_capacity(Scope=SCOPE, Rules=five)["Capacity"] == 2 + 1


def test_web_acl_capacity_matches_check_capacity(waf):
    rules = AWS_CLI_EXAMPLE + [rule("x", 2, xss()), rule("m", 3, managed("AWSManagedRulesLinuxRuleSet"), action="auto")]
    s = new_acl(waf, rules)
    assert waf.get_web_acl(ARN=s["ARN"])["WebACL"]["Capacity"] == 15 + 40 + 200
    assert waf.check_capacity(Scope=SCOPE, Rules=rules)["Capacity"] == 255


# ---- managed rule groups ------------------------------------------------------------------------


def test_list_available_managed_rule_groups(waf):
    groups = waf.list_available_managed_rule_groups(Scope=SCOPE)["ManagedRuleGroups"]
    by_name = {g["Name"]: g for g in groups}
    for name in MANAGED:
        g = by_name[name]
        assert g["VendorName"] == "AWS"
        assert g["VersioningSupported"] is True
        assert isinstance(g["Description"], str) and g["Description"]
    products = waf.describe_all_managed_products(Scope=SCOPE)["ManagedProducts"]
    aws_products = {p["ManagedRuleSetName"] for p in products if p["VendorName"] == "AWS"}
    assert set(MANAGED) <= aws_products


def test_managed_rule_group_versions(waf):
    r = waf.list_available_managed_rule_group_versions(VendorName="AWS", Name="AWSManagedRulesSQLiRuleSet", Scope=SCOPE)
    assert r["CurrentDefaultVersion"] == "Version_1.0"
    assert [v["Name"] for v in r["Versions"]] == ["Version_1.0"]
    assert isinstance(r["Versions"][0]["LastUpdateTimestamp"], dt.datetime)
    e = fails(waf.list_available_managed_rule_group_versions, VendorName="AWS", Name="AWSManagedRulesNoSuchRuleSet",
              Scope=SCOPE)
    assert code_of(e) == "WAFNonexistentItemException"


def test_describe_managed_rule_group(waf):
    r = waf.describe_managed_rule_group(VendorName="AWS", Name="AWSManagedRulesSQLiRuleSet", Scope=SCOPE)
    assert r["VersionName"] == "Version_1.0"
    assert r["Capacity"] == 200
    assert r["LabelNamespace"] == "awswaf:managed:aws:sql-database:"
    rules = {x["Name"]: x for x in r["Rules"]}
    for name in ("SQLi_QUERYARGUMENTS", "SQLi_BODY", "SQLi_COOKIE"):
        assert rules[name] == {"Name": name, "Action": {"Block": {}}}
    labels = {x["Name"] for x in r["AvailableLabels"]}
    assert {"awswaf:managed:aws:sql-database:SQLi_QueryArguments", "awswaf:managed:aws:sql-database:SQLi_Body"} <= labels
    assert all(x.startswith("awswaf:managed:aws:sql-database:") for x in labels)

    pinned = waf.describe_managed_rule_group(VendorName="AWS", Name="AWSManagedRulesSQLiRuleSet", Scope=SCOPE,
                                             VersionName="Version_1.0")
    assert (pinned["VersionName"], pinned["Capacity"]) == ("Version_1.0", 200)

    r = waf.describe_managed_rule_group(VendorName="AWS", Name="AWSManagedRulesCommonRuleSet", Scope=SCOPE)
    assert r["Capacity"] == 700
    assert r["LabelNamespace"] == "awswaf:managed:aws:core-rule-set:"
    rules = {x["Name"]: x for x in r["Rules"]}
    for name in ("NoUserAgent_HEADER", "SizeRestrictions_BODY", "CrossSiteScripting_BODY"):
        assert rules[name] == {"Name": name, "Action": {"Block": {}}}
    assert "awswaf:managed:aws:core-rule-set:NoUserAgent_Header" in {x["Name"] for x in r["AvailableLabels"]}
    for name, wcu in MANAGED.items():
        assert waf.describe_managed_rule_group(VendorName="AWS", Name=name, Scope=SCOPE)["Capacity"] == wcu, name
    e = fails(waf.describe_managed_rule_group, VendorName="AWS", Name="AWSManagedRulesNoSuchRuleSet", Scope=SCOPE)
    assert code_of(e) == "WAFNonexistentItemException"


# ---- tags ---------------------------------------------------------------------------------------


def tags_of(waf, arn):
    r = waf.list_tags_for_resource(ResourceARN=arn)
    assert r["NextMarker"] == ""
    assert r["TagInfoForResource"]["ResourceARN"] == arn
    return sorted(r["TagInfoForResource"]["TagList"], key=lambda t: t["Key"])


def test_tags(waf, server):
    s = new_ip_set(waf, Tags=[{"Key": "team", "Value": "sec"}])
    assert tags_of(waf, s["ARN"]) == [{"Key": "team", "Value": "sec"}]
    waf.tag_resource(ResourceARN=s["ARN"], Tags=[{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "ops"}])
    assert tags_of(waf, s["ARN"]) == [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "ops"}]
    waf.untag_resource(ResourceARN=s["ARN"], TagKeys=["team"])
    assert tags_of(waf, s["ARN"]) == [{"Key": "env", "Value": "test"}]
    e = fails(waf.tag_resource, ResourceARN=s["ARN"], Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert code_of(e) == "WAFLimitsExceededException"
    assert tags_of(waf, s["ARN"]) == [{"Key": "env", "Value": "test"}]
    waf.tag_resource(ResourceARN=s["ARN"], Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
    assert len(tags_of(waf, s["ARN"])) == 50

    acl = new_acl(waf, Tags=[{"Key": "app", "Value": "shop"}])
    assert tags_of(waf, acl["ARN"]) == [{"Key": "app", "Value": "shop"}]
    rg = new_rule_group(waf, capacity=1, Tags=[{"Key": "a", "Value": "b"}])
    assert tags_of(waf, rg["ARN"]) == [{"Key": "a", "Value": "b"}]
    e = fails(waf.create_regex_pattern_set, Name=uniq("rx"), Scope=SCOPE, RegularExpressionList=[{"RegexString": "x"}],
              Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    assert code_of(e) == "WAFLimitsExceededException"
    missing = f"arn:aws:wafv2:us-east-1:{server.account_id}:regional/ipset/missing/{uuid.uuid4()}"
    e = fails(waf.tag_resource, ResourceARN=missing, Tags=[{"Key": "a", "Value": "b"}])
    assert code_of(e) == "WAFNonexistentItemException"
    e = fails(waf.list_tags_for_resource, ResourceARN=missing)
    assert code_of(e) == "WAFNonexistentItemException"


# ---- permission policies ------------------------------------------------------------------------

ACTIONS = ["wafv2:CreateWebACL", "wafv2:UpdateWebACL", "wafv2:PutFirewallManagerRuleGroups"]


def policy(**over):
    st = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
          "Action": ACTIONS + ["wafv2:GetRuleGroup"]}
    st.update(over)
    st = {k: v for k, v in st.items() if v is not None}
    return {"Version": "2012-10-17", "Statement": [st]}


def test_permission_policy(waf, server):
    rg = new_rule_group(waf, capacity=1)
    good = policy()
    waf.put_permission_policy(ResourceArn=rg["ARN"], Policy=json.dumps(good))
    assert json.loads(waf.get_permission_policy(ResourceArn=rg["ARN"])["Policy"]) == good
    only_required = policy(Action=ACTIONS)
    waf.put_permission_policy(ResourceArn=rg["ARN"], Policy=json.dumps(only_required))
    assert json.loads(waf.get_permission_policy(ResourceArn=rg["ARN"])["Policy"]) == only_required

    bad_docs = {
        "old version": {**policy(), "Version": "2008-10-17"},
        "deny": policy(Effect="Deny"),
        "no principal": policy(Principal=None),
        "missing action": policy(Action=["wafv2:CreateWebACL", "wafv2:UpdateWebACL"]),
        "extra action": policy(Action=ACTIONS + ["wafv2:DeleteRuleGroup"]),
        "wildcard": policy(Action=["wafv2:*"]),
        "resource": policy(Resource=rg["ARN"]),
    }
    for why, doc in bad_docs.items():
        e = fails(waf.put_permission_policy, ResourceArn=rg["ARN"], Policy=json.dumps(doc))
        assert code_of(e) == "WAFInvalidPermissionPolicyException", why
    e = fails(waf.put_permission_policy, ResourceArn=rg["ARN"], Policy="not json")
    assert code_of(e) == "WAFInvalidPermissionPolicyException"
    assert json.loads(waf.get_permission_policy(ResourceArn=rg["ARN"])["Policy"]) == only_required

    waf.delete_permission_policy(ResourceArn=rg["ARN"])
    try:
        after = waf.get_permission_policy(ResourceArn=rg["ARN"])
        assert "Policy" not in after, after
    except ClientError as e:
        assert code_of(e) == "WAFNonexistentItemException"
    missing = f"arn:aws:wafv2:us-east-1:{server.account_id}:regional/rulegroup/missing/{uuid.uuid4()}"
    e = fails(waf.put_permission_policy, ResourceArn=missing, Policy=json.dumps(good))
    assert code_of(e) == "WAFNonexistentItemException"


# ---- logging ------------------------------------------------------------------------------------


def test_logging_configuration(waf, server):
    acct = server.account_id
    acl = new_acl(waf)
    log_group = f"arn:aws:logs:us-east-1:{acct}:log-group:aws-waf-logs-{uuid.uuid4().hex[:8]}"
    cfg = {
        "ResourceArn": acl["ARN"],
        "LogDestinationConfigs": [log_group],
        "RedactedFields": [{"SingleHeader": {"Name": "authorization"}}],
        "LoggingFilter": {"Filters": [{"Behavior": "KEEP", "Requirement": "MEETS_ANY",
                                       "Conditions": [{"ActionCondition": {"Action": "BLOCK"}}]}],
                          "DefaultBehavior": "DROP"},
    }
    full = {**cfg, "ManagedByFirewallManager": False, "LogType": "WAF_LOGS", "LogScope": "CUSTOMER"}
    assert waf.put_logging_configuration(LoggingConfiguration=cfg)["LoggingConfiguration"] == full
    assert waf.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"] == full
    listed = waf.list_logging_configurations(Scope=SCOPE, Limit=100)["LoggingConfigurations"]
    assert [c for c in listed if c["ResourceArn"] == acl["ARN"]] == [full]

    for dest in (f"arn:aws:firehose:us-east-1:{acct}:deliverystream/aws-waf-logs-stream",
                 "arn:aws:s3:::aws-waf-logs-bucket"):
        plain = {"ResourceArn": acl["ARN"], "LogDestinationConfigs": [dest]}
        out = waf.put_logging_configuration(LoggingConfiguration=plain)["LoggingConfiguration"]
        assert out["LogDestinationConfigs"] == [dest]
        assert (out["ManagedByFirewallManager"], out["LogType"], out["LogScope"]) == (False, "WAF_LOGS", "CUSTOMER")
        assert waf.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]["LogDestinationConfigs"] == [dest]

    for bad in (f"arn:aws:logs:us-east-1:{acct}:log-group:my-logs",
                f"arn:aws:firehose:us-east-1:{acct}:deliverystream/waf-logs",
                "arn:aws:s3:::my-bucket"):
        e = fails(waf.put_logging_configuration,
                  LoggingConfiguration={"ResourceArn": acl["ARN"], "LogDestinationConfigs": [bad]})
        field, _, reason = invalid_of(e)
        assert (field, reason) == ("LOG_DESTINATION", REASON_BAD_ARN), bad

    waf.delete_logging_configuration(ResourceArn=acl["ARN"])
    e = fails(waf.get_logging_configuration, ResourceArn=acl["ARN"])
    assert code_of(e) == "WAFNonexistentItemException"
    listed = waf.list_logging_configurations(Scope=SCOPE, Limit=100)["LoggingConfigurations"]
    assert acl["ARN"] not in {c["ResourceArn"] for c in listed}
    missing = f"arn:aws:wafv2:us-east-1:{acct}:regional/webacl/missing/{uuid.uuid4()}"
    e = fails(waf.put_logging_configuration, LoggingConfiguration={"ResourceArn": missing,
                                                                   "LogDestinationConfigs": [log_group]})
    assert code_of(e) == "WAFNonexistentItemException"


# ---- associations -------------------------------------------------------------------------------


def proxy_cli(server, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAMPART_", "AWS_"))}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key,
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_REGION="us-east-1")
    binary = os.environ["RAMPART_BIN"]
    p = subprocess.run([binary, "waf", "proxy", *args[:1], "--endpoint", server.endpoint, *args[1:]],
                       capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"rampart waf proxy {' '.join(args)}: {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout.strip()


@pytest.fixture
def proxy(server):
    name = "t-" + uuid.uuid4().hex[:12]
    arn = proxy_cli(server, "create", "--name", name, "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9")
    state = {"arn": arn, "name": name, "deleted": False}
    yield state
    if not state["deleted"]:
        proxy_cli(server, "delete", arn)


def test_associations(waf, server, proxy):
    arn = proxy["arn"]
    assert re.fullmatch(rf"arn:aws:elasticloadbalancing:us-east-1:{server.account_id}:loadbalancer/app/"
                        rf"{proxy['name']}/[0-9a-f]{{16}}", arn), arn
    a1, a2 = new_acl(waf), new_acl(waf)
    assert "WebACL" not in waf.get_web_acl_for_resource(ResourceArn=arn)
    waf.associate_web_acl(WebACLArn=a1["ARN"], ResourceArn=arn)
    got = waf.get_web_acl_for_resource(ResourceArn=arn)["WebACL"]
    assert (got["ARN"], got["Name"], got["Id"]) == (a1["ARN"], a1["Name"], a1["Id"])
    assert waf.list_resources_for_web_acl(WebACLArn=a1["ARN"])["ResourceArns"] == [arn]
    assert waf.list_resources_for_web_acl(WebACLArn=a1["ARN"], ResourceType="APPLICATION_LOAD_BALANCER")["ResourceArns"] == [arn]
    e = fails(waf.delete_web_acl, Name=a1["Name"], Scope=SCOPE, Id=a1["Id"], LockToken=a1["LockToken"])
    assert error_of(e) == (400, "WAFAssociatedItemException", ASSOCIATED)

    # A second web ACL replaces the first.
    waf.associate_web_acl(WebACLArn=a2["ARN"], ResourceArn=arn)
    assert waf.get_web_acl_for_resource(ResourceArn=arn)["WebACL"]["ARN"] == a2["ARN"]
    assert waf.list_resources_for_web_acl(WebACLArn=a1["ARN"])["ResourceArns"] == []
    assert waf.list_resources_for_web_acl(WebACLArn=a2["ARN"])["ResourceArns"] == [arn]

    waf.disassociate_web_acl(ResourceArn=arn)
    assert "WebACL" not in waf.get_web_acl_for_resource(ResourceArn=arn)
    assert waf.list_resources_for_web_acl(WebACLArn=a2["ARN"])["ResourceArns"] == []
    delete(waf, "web_acl", a2)

    # Deleting the proxy removes its association.
    waf.associate_web_acl(WebACLArn=a1["ARN"], ResourceArn=arn)
    proxy_cli(server, "delete", arn)
    proxy["deleted"] = True
    assert waf.list_resources_for_web_acl(WebACLArn=a1["ARN"])["ResourceArns"] == []
    delete(waf, "web_acl", a1)


def test_association_errors(waf, server):
    acl = new_acl(waf)
    for bad in ("this-is-not-an-arn-at-all", f"arn:aws:elasticloadbalancing:us-east-1:{server.account_id}:targetgroup/x/0123456789abcdef"):
        e = fails(waf.associate_web_acl, WebACLArn=acl["ARN"], ResourceArn=bad)
        assert invalid_of(e)[0] == "RESOURCE_ARN", bad
    missing = f"arn:aws:elasticloadbalancing:us-east-1:{server.account_id}:loadbalancer/app/nope/0123456789abcdef"
    e = fails(waf.associate_web_acl, WebACLArn=acl["ARN"], ResourceArn=missing)
    assert code_of(e) == "WAFNonexistentItemException"
    assert waf.list_resources_for_web_acl(WebACLArn=acl["ARN"])["ResourceArns"] == []


# ---- rate-based managed keys and sampled requests -----------------------------------------------


def test_rate_based_statement_managed_keys(waf):
    custom = {"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "CUSTOM_KEYS",
                                     "CustomKeys": [{"Header": {"Name": "x-api-key", "TextTransformations": NONE_TT}}]}}
    acl = new_acl(waf, [rule("per-ip", 0, {"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "IP"}}),
                        rule("per-key", 1, custom)])
    r = waf.get_rate_based_statement_managed_keys(Scope=SCOPE, WebACLName=acl["Name"], WebACLId=acl["Id"],
                                                  RuleName="per-ip")
    assert r["ManagedKeysIPV4"] == {"IPAddressVersion": "IPV4", "Addresses": []}
    assert r["ManagedKeysIPV6"] == {"IPAddressVersion": "IPV6", "Addresses": []}
    e = fails(waf.get_rate_based_statement_managed_keys, Scope=SCOPE, WebACLName=acl["Name"], WebACLId=acl["Id"],
              RuleName="per-key")
    assert code_of(e) == "WAFUnsupportedAggregateKeyTypeException"


def test_sampled_requests(waf):
    acl = new_acl(waf)
    now = dt.datetime.now(dt.timezone.utc)
    r = waf.get_sampled_requests(WebAclArn=acl["ARN"], RuleMetricName=acl["Name"], Scope=SCOPE,
                                 TimeWindow={"StartTime": now - dt.timedelta(hours=1), "EndTime": now}, MaxItems=100)
    assert r["SampledRequests"] == []
    assert r["PopulationSize"] == 0
    e = fails(waf.get_sampled_requests, WebAclArn=acl["ARN"], RuleMetricName=acl["Name"], Scope=SCOPE,
              TimeWindow={"StartTime": now - dt.timedelta(hours=5), "EndTime": now - dt.timedelta(hours=4)},
              MaxItems=100)
    assert code_of(e) == "WAFInvalidParameterException"


# ---- bytes, the trail and the CLI ---------------------------------------------------------------


def test_byte_match_search_string_round_trips(waf):
    raw = b"Bad\xffBot\x00/\r\n"
    rules = [rule("bytes", 0, byte_match("CONTAINS", search=raw)),
             rule("text", 1, byte_match("EXACTLY", search="h\u00e9llo", field={"SingleHeader": {"Name": "x-h"}}))]
    s = new_acl(waf, rules)
    got = waf.get_web_acl(ARN=s["ARN"])["WebACL"]["Rules"]
    assert got[0]["Statement"]["ByteMatchStatement"]["SearchString"] == raw
    assert got[1]["Statement"]["ByteMatchStatement"]["SearchString"] == "h\u00e9llo".encode()
    assert got[1]["Statement"]["ByteMatchStatement"]["FieldToMatch"] == {"SingleHeader": {"Name": "x-h"}}


def test_every_call_is_in_the_trail(waf, server):
    s = waf.create_ip_set(Name=uniq("trail"), Scope=SCOPE, IPAddressVersion="IPV4", Addresses=["10.0.0.0/8"])
    _CREATED.append(("ip_set", waf, s["Summary"]))
    ev = wait_for_event(server, request_id_of(s))
    assert (ev["eventSource"], ev["eventName"], ev["readOnly"]) == ("wafv2.amazonaws.com", "CreateIPSet", False)
    assert ev["awsRegion"] == "us-east-1"
    assert ev["recipientAccountId"] == server.account_id
    g = waf.get_ip_set(Name=s["Summary"]["Name"], Scope=SCOPE, Id=s["Summary"]["Id"])
    ev = wait_for_event(server, request_id_of(g))
    assert (ev["eventSource"], ev["eventName"], ev["readOnly"]) == ("wafv2.amazonaws.com", "GetIPSet", True)
    c = waf.check_capacity(Scope=SCOPE, Rules=AWS_CLI_EXAMPLE)
    ev = wait_for_event(server, request_id_of(c))
    assert (ev["eventSource"], ev["eventName"]) == ("wafv2.amazonaws.com", "CheckCapacity")
    m = waf.list_available_managed_rule_groups(Scope=SCOPE)
    assert wait_for_event(server, request_id_of(m))["eventName"] == "ListAvailableManagedRuleGroups"
    e = fails(waf.get_web_acl, Name=uniq("nope"), Scope=SCOPE, Id=str(uuid.uuid4()))
    ev = wait_for_event(server, request_id_of(e))
    assert (ev["eventSource"], ev["eventName"]) == ("wafv2.amazonaws.com", "GetWebACL")
    assert ev["errorCode"] == "WAFNonexistentItemException"
    e = create_acl_error(waf, [rule("two", 0, {**geo(), **xss()})])
    ev = wait_for_event(server, request_id_of(e))
    assert (ev["eventName"], ev["errorCode"]) == ("CreateWebACL", "WAFInvalidParameterException")


def test_trail_events_of_each_operation(waf, server):
    acct = server.account_id
    calls = []

    def call(name, fn, **kw):
        calls.append((name, fn(**kw)))
        return calls[-1][1]

    ips = call("CreateIPSet", waf.create_ip_set, Name=uniq("tr"), Scope=SCOPE, IPAddressVersion="IPV4",
               Addresses=["10.0.0.0/8"], Tags=[{"Key": "a", "Value": "b"}])["Summary"]
    tok = call("UpdateIPSet", waf.update_ip_set, Name=ips["Name"], Scope=SCOPE, Id=ips["Id"], Addresses=[],
               LockToken=ips["LockToken"])["NextLockToken"]
    call("ListIPSets", waf.list_ip_sets, Scope=SCOPE)
    call("TagResource", waf.tag_resource, ResourceARN=ips["ARN"], Tags=[{"Key": "c", "Value": "d"}])
    call("UntagResource", waf.untag_resource, ResourceARN=ips["ARN"], TagKeys=["c"])
    call("ListTagsForResource", waf.list_tags_for_resource, ResourceARN=ips["ARN"])
    acl = call("CreateWebACL", waf.create_web_acl, Name=uniq("tr"), Scope=SCOPE, DefaultAction={"Allow": {}},
               Rules=[], VisibilityConfig=vis())["Summary"]
    call("GetWebACL", waf.get_web_acl, ARN=acl["ARN"])
    call("ListWebACLs", waf.list_web_acls, Scope=SCOPE)
    dest = f"arn:aws:logs:us-east-1:{acct}:log-group:aws-waf-logs-trail"
    call("PutLoggingConfiguration", waf.put_logging_configuration,
         LoggingConfiguration={"ResourceArn": acl["ARN"], "LogDestinationConfigs": [dest]})
    call("GetLoggingConfiguration", waf.get_logging_configuration, ResourceArn=acl["ARN"])
    call("DeleteLoggingConfiguration", waf.delete_logging_configuration, ResourceArn=acl["ARN"])
    call("DeleteWebACL", waf.delete_web_acl, Name=acl["Name"], Scope=SCOPE, Id=acl["Id"], LockToken=acl["LockToken"])
    call("DeleteIPSet", waf.delete_ip_set, Name=ips["Name"], Scope=SCOPE, Id=ips["Id"], LockToken=tok)
    rg = call("CreateRuleGroup", waf.create_rule_group, Name=uniq("tr"), Scope=SCOPE, Capacity=1,
              VisibilityConfig=vis())["Summary"]
    call("PutPermissionPolicy", waf.put_permission_policy, ResourceArn=rg["ARN"], Policy=json.dumps(policy()))
    call("GetPermissionPolicy", waf.get_permission_policy, ResourceArn=rg["ARN"])
    call("DeletePermissionPolicy", waf.delete_permission_policy, ResourceArn=rg["ARN"])
    call("DeleteRuleGroup", waf.delete_rule_group, Name=rg["Name"], Scope=SCOPE, Id=rg["Id"], LockToken=rg["LockToken"])
    call("DescribeManagedRuleGroup", waf.describe_managed_rule_group, VendorName="AWS",
         Name="AWSManagedRulesSQLiRuleSet", Scope=SCOPE)
    call("ListAvailableManagedRuleGroupVersions", waf.list_available_managed_rule_group_versions, VendorName="AWS",
         Name="AWSManagedRulesSQLiRuleSet", Scope=SCOPE)
    call("DescribeAllManagedProducts", waf.describe_all_managed_products, Scope=SCOPE)
    for name, resp in calls:
        ev = wait_for_event(server, request_id_of(resp))
        assert (ev["eventSource"], ev["eventName"]) == ("wafv2.amazonaws.com", name)
        assert ev["recipientAccountId"] == acct
        assert "errorCode" not in ev, ev


def test_cli(server, waf, tmp_path):
    name = uniq("cli")
    ips = aws(server, "wafv2", "create-ip-set", "--name", name, "--scope", SCOPE, "--ip-address-version", "IPV4",
              "--addresses", "10.0.0.0/8", "192.0.2.0/24")["Summary"]
    _CREATED.append(("ip_set", waf, ips))
    check_summary(ips, server, "ipset", name)
    got = aws(server, "wafv2", "get-ip-set", "--name", name, "--scope", SCOPE, "--id", ips["Id"])
    assert got["IPSet"]["Addresses"] == ["10.0.0.0/8", "192.0.2.0/24"]

    rules = [rule("ip", 0, {"IPSetReferenceStatement": {"ARN": ips["ARN"]}})] + [
        {**r, "Priority": r["Priority"] + 1} for r in AWS_CLI_EXAMPLE]
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps(rules))
    assert aws(server, "wafv2", "check-capacity", "--scope", SCOPE, "--rules", f"file://{rules_file}") == {"Capacity": 16}
    acl_name = uniq("cli")
    acl = aws(server, "wafv2", "create-web-acl", "--name", acl_name, "--scope", SCOPE, "--default-action", "Allow={}",
              "--visibility-config", f"SampledRequestsEnabled=false,CloudWatchMetricsEnabled=false,MetricName={acl_name}",
              "--rules", f"file://{rules_file}")["Summary"]
    _CREATED.append(("web_acl", waf, acl))
    check_summary(acl, server, "webacl", acl_name)
    out = aws(server, "wafv2", "get-web-acl", "--name", acl_name, "--scope", SCOPE, "--id", acl["Id"])
    assert out["LockToken"] == acl["LockToken"]
    w = out["WebACL"]
    assert (w["Name"], w["ARN"], w["Capacity"]) == (acl_name, acl["ARN"], 16)
    assert w["DefaultAction"] == {"Allow": {}}
    assert w["ManagedByFirewallManager"] is False
    assert [r["Name"] for r in w["Rules"]] == ["ip", "basic-rule", "rate-rule"]
    assert w["Rules"][0]["Statement"] == {"IPSetReferenceStatement": {"ARN": ips["ARN"]}}
    assert w["Rules"][2]["Statement"] == {"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "IP"}}
    # The CLI sends the JSON string's bytes and prints the blob base64-encoded, as in AWS's
    # get-web-acl example; boto3 reads the same bytes back.
    cli_bm = w["Rules"][1]["Statement"]["AndStatement"]["Statements"][0]["ByteMatchStatement"]
    assert cli_bm["SearchString"] == base64.b64encode(b"example.com").decode()
    assert cli_bm["FieldToMatch"] == {"SingleHeader": {"Name": "host"}}
    assert cli_bm["TextTransformations"] == [{"Priority": 0, "Type": "LOWERCASE"}]
    bm = waf.get_web_acl(ARN=acl["ARN"])["WebACL"]["Rules"][1]["Statement"]["AndStatement"]["Statements"][0]
    assert bm["ByteMatchStatement"]["SearchString"] == b"example.com"
    listed = aws(server, "wafv2", "list-web-acls", "--scope", SCOPE, "--limit", "100")
    names = {a["Name"] for a in listed["WebACLs"]}
    marker = listed.get("NextMarker") if listed["WebACLs"] else None
    while marker:
        page = aws(server, "wafv2", "list-web-acls", "--scope", SCOPE, "--limit", "100", "--next-marker", marker)
        names |= {a["Name"] for a in page["WebACLs"]}
        marker = page.get("NextMarker") if page["WebACLs"] else None
    assert acl_name in names


def test_api_keys(server, waf):
    """API keys for the CAPTCHA/challenge JavaScript integration (Terraform's aws_wafv2_api_key)."""
    key = waf.create_api_key(Scope="REGIONAL", TokenDomains=["example.com", "Store.Example.com"])["APIKey"]
    got = waf.get_decrypted_api_key(Scope="REGIONAL", APIKey=key)
    assert got["TokenDomains"] == ["example.com", "store.example.com"] and got["CreationTimestamp"]
    other = waf.create_api_key(Scope="REGIONAL", TokenDomains=["example.org"])["APIKey"]
    seen, marker = [], None
    while True:
        kw = {"NextMarker": marker} if marker else {}
        page = waf.list_api_keys(Scope="REGIONAL", Limit=1, **kw)
        seen += [s["APIKey"] for s in page["APIKeySummaries"]]
        assert all(s["Version"] == 1 for s in page["APIKeySummaries"])
        marker = page.get("NextMarker")
        if not marker:
            break
    assert {key, other} <= set(seen)
    for bad in (["co.uk"], ["com"], ["-bad-.example.com"], [f"d{i}.example.com" for i in range(6)]):
        with pytest.raises(ClientError) as e:
            waf.create_api_key(Scope="REGIONAL", TokenDomains=bad)
        assert error_of(e.value)[1] in ("WAFInvalidParameterException", "ValidationException")
    # A key belongs to its scope.
    with pytest.raises(ClientError) as e:
        waf.get_decrypted_api_key(Scope="CLOUDFRONT", APIKey=key)
    assert error_of(e.value)[1] in ("WAFNonexistentItemException", "WAFInvalidParameterException")
    cli = aws(server, "wafv2", "create-api-key", "--scope", "REGIONAL", "--token-domains", "cli.example.net")
    assert aws(server, "wafv2", "get-decrypted-api-key", "--scope", "REGIONAL", "--api-key",
               cli["APIKey"])["TokenDomains"] == ["cli.example.net"]
    for k in (key, other, cli["APIKey"]):
        waf.delete_api_key(Scope="REGIONAL", APIKey=k)
    with pytest.raises(ClientError) as e:
        waf.delete_api_key(Scope="REGIONAL", APIKey=key)
    assert error_of(e.value)[1] == "WAFNonexistentItemException"

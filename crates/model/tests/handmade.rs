//! The runtime against a small hand-made model: maps, unions, the 10-error cap, awsQuery maps
//! and flattened lists, and restJson1 routing and (de)coding.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use rampart_model::{
    decode_query, decode_rest, encode_query_response, encode_rest_response, match_rest, redact,
    validate, Kind, Location, Member, Operation, Protocol, ServiceModel, Shape, REDACTED,
};
use serde_json::json;

const TEXT: u16 = 13;
const TIME: u16 = 12;
const COUNT: u16 = 1;

static SHAPES: &[Shape] = &[
    /* 0 */
    Shape {
        name: "Boolean",
        kind: Kind::Boolean,
        ..Shape::EMPTY
    },
    /* 1 */
    Shape {
        name: "Count",
        kind: Kind::Integer,
        min: Some(1.0),
        max: Some(100.0),
        ..Shape::EMPTY
    },
    /* 2 */
    Shape {
        name: "DetectorId",
        kind: Kind::String,
        min: Some(1.0),
        max: Some(32.0),
        pattern: Some("[a-z0-9]+"),
        ..Shape::EMPTY
    },
    /* 3 */
    Shape {
        name: "GetThingInput",
        kind: Kind::Structure {
            members: &[
                Member {
                    name: "DetectorId",
                    shape: 2,
                    required: true,
                    location: Location::Uri,
                    location_name: Some("detectorId"),
                    ..Member::EMPTY
                },
                Member {
                    name: "MaxResults",
                    shape: COUNT,
                    location: Location::Querystring,
                    location_name: Some("maxResults"),
                    ..Member::EMPTY
                },
                Member {
                    name: "Labels",
                    shape: 7,
                    location: Location::Querystring,
                    location_name: Some("label"),
                    ..Member::EMPTY
                },
                Member {
                    name: "Extra",
                    shape: 9,
                    location: Location::Querystring,
                    ..Member::EMPTY
                },
                Member {
                    name: "Since",
                    shape: TIME,
                    location: Location::Header,
                    location_name: Some("X-Since"),
                    ..Member::EMPTY
                },
                Member {
                    name: "Meta",
                    shape: 9,
                    location: Location::Headers,
                    location_name: Some("x-meta-"),
                    ..Member::EMPTY
                },
                Member {
                    name: "Body",
                    shape: 11,
                    location_name: Some("body"),
                    ..Member::EMPTY
                },
            ],
        },
        ..Shape::EMPTY
    },
    /* 4 */
    Shape {
        name: "GetThingOutput",
        kind: Kind::Structure {
            members: &[
                Member {
                    name: "Thing",
                    shape: 11,
                    location_name: Some("thing"),
                    ..Member::EMPTY
                },
                Member {
                    name: "ETag",
                    shape: TEXT,
                    location: Location::Header,
                    location_name: Some("ETag"),
                    ..Member::EMPTY
                },
                Member {
                    name: "Status",
                    shape: COUNT,
                    location: Location::StatusCode,
                    ..Member::EMPTY
                },
                Member {
                    name: "When",
                    shape: TIME,
                    location: Location::Header,
                    location_name: Some("X-When"),
                    ..Member::EMPTY
                },
            ],
        },
        ..Shape::EMPTY
    },
    /* 5 */
    Shape {
        name: "Key",
        kind: Kind::String,
        min: Some(1.0),
        ..Shape::EMPTY
    },
    /* 6 */
    Shape {
        name: "KeyPath",
        kind: Kind::Structure {
            members: &[Member {
                name: "Key",
                shape: 5,
                required: true,
                location: Location::Uri,
                ..Member::EMPTY
            }],
        },
        ..Shape::EMPTY
    },
    /* 7 */
    Shape {
        name: "Labels",
        kind: Kind::List {
            member: TEXT,
            member_location_name: None,
        },
        ..Shape::EMPTY
    },
    /* 8 */
    Shape {
        name: "Selector",
        kind: Kind::Structure {
            members: &[
                Member {
                    name: "ByName",
                    shape: TEXT,
                    ..Member::EMPTY
                },
                Member {
                    name: "ByCount",
                    shape: COUNT,
                    ..Member::EMPTY
                },
            ],
        },
        union: true,
        ..Shape::EMPTY
    },
    /* 9 */
    Shape {
        name: "StringMap",
        kind: Kind::Map {
            key: 10,
            value: TEXT,
            key_name: "key",
            value_name: "value",
        },
        max: Some(3.0),
        ..Shape::EMPTY
    },
    /* 10 */
    Shape {
        name: "TagKey",
        kind: Kind::String,
        max: Some(3.0),
        pattern: Some("[a-z]+"),
        ..Shape::EMPTY
    },
    /* 11 */
    Shape {
        name: "Thing",
        kind: Kind::Structure {
            members: &[
                Member {
                    name: "Name",
                    shape: TEXT,
                    required: true,
                    location_name: Some("name"),
                    ..Member::EMPTY
                },
                Member {
                    name: "Created",
                    shape: TIME,
                    location_name: Some("created"),
                    ..Member::EMPTY
                },
                Member {
                    name: "Tags",
                    shape: 9,
                    location_name: Some("tags"),
                    ..Member::EMPTY
                },
                Member {
                    name: "Secret",
                    shape: 14,
                    location_name: Some("secret"),
                    sensitive: true,
                    ..Member::EMPTY
                },
            ],
        },
        ..Shape::EMPTY
    },
    /* 12 */
    Shape {
        name: "Time",
        kind: Kind::Timestamp,
        ..Shape::EMPTY
    },
    /* 13 */
    Shape {
        name: "Text",
        kind: Kind::String,
        ..Shape::EMPTY
    },
    /* 14 */
    Shape {
        name: "Secret",
        kind: Kind::String,
        sensitive: true,
        ..Shape::EMPTY
    },
    /* 15 */
    Shape {
        name: "Payload",
        kind: Kind::Blob,
        ..Shape::EMPTY
    },
    /* 16 */
    Shape {
        name: "PutBlobInput",
        kind: Kind::Structure {
            members: &[
                Member {
                    name: "Key",
                    shape: TEXT,
                    required: true,
                    location: Location::Uri,
                    ..Member::EMPTY
                },
                Member {
                    name: "Data",
                    shape: 15,
                    payload: true,
                    ..Member::EMPTY
                },
            ],
        },
        ..Shape::EMPTY
    },
    /* 17 */
    Shape {
        name: "FlatList",
        kind: Kind::List {
            member: TEXT,
            member_location_name: None,
        },
        flattened: true,
        ..Shape::EMPTY
    },
    /* 18 */
    Shape {
        name: "ThingMap",
        kind: Kind::Map {
            key: TEXT,
            value: 11,
            key_name: "key",
            value_name: "value",
        },
        ..Shape::EMPTY
    },
    /* 19 */
    Shape {
        name: "QueryInput",
        kind: Kind::Structure {
            members: &[
                Member {
                    name: "Attrs",
                    shape: 9,
                    ..Member::EMPTY
                },
                Member {
                    name: "Items",
                    shape: 17,
                    ..Member::EMPTY
                },
                Member {
                    name: "When",
                    shape: TIME,
                    ..Member::EMPTY
                },
                Member {
                    name: "Nested",
                    shape: 11,
                    ..Member::EMPTY
                },
                Member {
                    name: "Things",
                    shape: 18,
                    ..Member::EMPTY
                },
                Member {
                    name: "Selector",
                    shape: 8,
                    ..Member::EMPTY
                },
                Member {
                    name: "Many",
                    shape: 20,
                    ..Member::EMPTY
                },
                Member {
                    name: "Enabled",
                    shape: 0,
                    ..Member::EMPTY
                },
            ],
        },
        ..Shape::EMPTY
    },
    /* 20 */
    Shape {
        name: "ThingList",
        kind: Kind::List {
            member: 11,
            member_location_name: None,
        },
        ..Shape::EMPTY
    },
];

const fn op(
    name: &'static str,
    method: &'static str,
    uri: &'static str,
    input: Option<u16>,
    output: Option<u16>,
    code: u16,
) -> Operation {
    Operation {
        name,
        http_method: method,
        request_uri: uri,
        response_code: code,
        input,
        output,
        result_wrapper: None,
        errors: &[],
        read_only: false,
    }
}

static REST: ServiceModel = ServiceModel {
    module: "demo",
    signing_name: "demo",
    endpoint_prefix: "demo",
    protocol: Protocol::RestJson,
    json_version: "",
    target_prefix: "",
    api_version: "2024-01-01",
    xml_namespace: "",
    event_source: "demo.amazonaws.com",
    operations: &[
        op("GetObject", "GET", "/objects/{Key+}", Some(6), None, 200),
        op(
            "GetThing",
            "GET",
            "/detector/{detectorId}/things",
            Some(3),
            Some(4),
            200,
        ),
        op(
            "GetThingSpecial",
            "GET",
            "/detector/special/things",
            None,
            None,
            200,
        ),
        op(
            "GetVersioned",
            "GET",
            "/objects/{Key+}/versions",
            Some(6),
            None,
            200,
        ),
        op("ListObjects", "GET", "/objects", None, None, 200),
        op(
            "ListObjectsV2",
            "GET",
            "/objects?list-type=2",
            None,
            None,
            200,
        ),
        op("PutBlob", "PUT", "/blobs/{Key}", Some(16), Some(16), 201),
    ],
    shapes: SHAPES,
};

static QUERY: ServiceModel = ServiceModel {
    module: "demoq",
    signing_name: "demoq",
    endpoint_prefix: "demoq",
    protocol: Protocol::Query,
    json_version: "",
    target_prefix: "",
    api_version: "2024-01-01",
    xml_namespace: "https://demo.example/doc/2024-01-01/",
    event_source: "demoq.amazonaws.com",
    operations: &[op("Query", "POST", "/", Some(19), Some(19), 200)],
    shapes: SHAPES,
};

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn map_constraints() {
    let err = validate(&REST, 19, &json!({"Attrs": {"abcd": "x", "ok": "y"}})).unwrap_err();
    assert_eq!(
        err.message,
        "1 validation error detected: Value '{abcd=x, ok=y}' at 'attrs' failed to satisfy constraint: \
         Map keys must satisfy constraint: [Member must have length less than or equal to 3, \
         Member must satisfy regular expression pattern: [a-z]+]"
    );
    assert_eq!(err.code, "ValidationException");
    let err = validate(
        &REST,
        19,
        &json!({"Attrs": {"a": "1", "b": "2", "c": "3", "d": "4"}}),
    )
    .unwrap_err();
    assert!(err.message.ends_with(
        "at 'attrs' failed to satisfy constraint: Member must have length less than or equal to 3"
    ));
    let err = validate(&REST, 19, &json!({"Things": {"first": {"Created": 1}}})).unwrap_err();
    assert_eq!(
        err.message,
        "1 validation error detected: Value null at 'things.first.member.name' failed to satisfy constraint: \
         Member must not be null"
    );
    let err = validate(&QUERY, 19, &json!({"Attrs": {"a": 5}})).unwrap_err();
    assert_eq!(err.code, "SerializationException");
}

#[test]
fn union_and_cap() {
    assert!(validate(&REST, 19, &json!({"Selector": {"ByName": "a"}})).is_ok());
    let err = validate(
        &REST,
        19,
        &json!({"Selector": {"ByName": "a", "ByCount": 2}}),
    )
    .unwrap_err();
    assert_eq!(
        err.message,
        "1 validation error detected: Value at 'selector' failed to satisfy constraint: \
         Member must have exactly one of its members set: [ByName, ByCount] (found 2)"
    );
    assert!(validate(&REST, 19, &json!({"Selector": {}})).is_err());
    let many: Vec<_> = (0..12).map(|_| json!({"Created": 1})).collect();
    let err = validate(&REST, 19, &json!({ "Many": many })).unwrap_err();
    assert!(err.message.starts_with(
        "10 validation errors detected: Value null at 'many.1.member.name' failed to satisfy constraint: Member must not be null; "
    ));
    assert_eq!(err.message.matches("Member must not be null").count(), 10);
}

#[test]
fn query_maps_flattened_timestamps() {
    let p = pairs(&[
        ("Action", "Query"),
        ("Version", "2024-01-01"),
        ("Attrs.entry.1.key", "a"),
        ("Attrs.entry.1.value", "x"),
        ("Attrs.entry.2.key", "b"),
        ("Attrs.entry.2.value", "y"),
        ("Items.1", "first"),
        ("Items.2", "second"),
        ("When", "2024-01-02T03:04:05Z"),
        ("Nested.name", "n"),
        ("Nested.created", "2024-01-02T03:04:05.250Z"),
        ("Nested.tags.entry.1.key", "k"),
        ("Nested.tags.entry.1.value", "v"),
        ("Things.entry.1.key", "t"),
        ("Things.entry.1.value.name", "tn"),
        ("Enabled", "true"),
    ]);
    let v = decode_query(&QUERY, 19, &p).unwrap();
    assert_eq!(
        v,
        json!({
            "Attrs": {"a": "x", "b": "y"},
            "Items": ["first", "second"],
            "When": 1704164645,
            "Nested": {"Name": "n", "Created": 1704164645.25, "Tags": {"k": "v"}},
            "Things": {"t": {"Name": "tn"}},
            "Enabled": true,
        })
    );
    let err = decode_query(&QUERY, 19, &pairs(&[("When", "last tuesday")])).unwrap_err();
    assert_eq!(err.code, "ValidationError");
    let err = decode_query(&QUERY, 19, &pairs(&[("Enabled", "maybe")])).unwrap_err();
    assert_eq!(err.code, "ValidationError");
}

#[test]
fn query_xml_maps_and_flattened() {
    let out = json!({
        "Attrs": {"a": "x<y"},
        "Items": ["first", "second"],
        "When": 1704164645,
        "Nested": {"Name": "n", "Secret": "s"},
    });
    let xml = encode_query_response(&QUERY, &QUERY.operations[0], &out, "rid");
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><QueryResponse xmlns=\"https://demo.example/doc/2024-01-01/\">\
         <QueryResult><Attrs><entry><key>a</key><value>x&lt;y</value></entry></Attrs>\
         <Items>first</Items><Items>second</Items><When>2024-01-02T03:04:05Z</When>\
         <Nested><name>n</name><secret>s</secret></Nested></QueryResult>\
         <ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></QueryResponse>"
    );
}

#[test]
fn redaction_in_maps_and_lists() {
    let v = json!({"Things": {"a": {"Name": "n", "Secret": "s"}}, "Many": [{"Name": "m", "Secret": "t"}]});
    assert_eq!(
        redact(&QUERY, 19, &v),
        json!({"Things": {"a": {"Name": "n", "Secret": REDACTED}}, "Many": [{"Name": "m", "Secret": REDACTED}]})
    );
}

#[test]
fn rest_routing() {
    let (op, caps) = match_rest(&REST, "GET", "/detector/abc123/things").unwrap();
    assert_eq!(op.name, "GetThing");
    assert_eq!(caps, vec![("detectorId".to_string(), "abc123".to_string())]);
    // More literal segments win over a label.
    assert_eq!(
        match_rest(&REST, "GET", "/detector/special/things")
            .unwrap()
            .0
            .name,
        "GetThingSpecial"
    );
    // Greedy labels take slashes; labels are percent-decoded.
    let (op, caps) = match_rest(&REST, "GET", "/objects/a/b%20c/d.txt").unwrap();
    assert_eq!(op.name, "GetObject");
    assert_eq!(caps, vec![("Key".to_string(), "a/b c/d.txt".to_string())]);
    let (op, caps) = match_rest(&REST, "GET", "/objects/a/b/versions").unwrap();
    assert_eq!(op.name, "GetVersioned");
    assert_eq!(caps[0].1, "a/b");
    // Query literals.
    assert_eq!(
        match_rest(&REST, "GET", "/objects").unwrap().0.name,
        "ListObjects"
    );
    assert_eq!(
        match_rest(&REST, "GET", "/objects?list-type=2&prefix=x")
            .unwrap()
            .0
            .name,
        "ListObjectsV2"
    );
    assert_eq!(
        match_rest(&REST, "GET", "/objects?list-type=1")
            .unwrap()
            .0
            .name,
        "ListObjects"
    );
    assert!(match_rest(&REST, "DELETE", "/objects").is_none());
    assert!(match_rest(&REST, "GET", "/nowhere").is_none());
    assert!(match_rest(&REST, "GET", "/detector//things").is_none());
}

#[test]
fn rest_decode() {
    let (op, caps) = match_rest(&REST, "GET", "/detector/abc/things").unwrap();
    let query = pairs(&[
        ("maxResults", "10"),
        ("label", "a"),
        ("label", "b"),
        ("fr", "form"),
    ]);
    let headers = pairs(&[
        ("x-since", "Tue, 02 Jan 2024 03:04:05 GMT"),
        ("X-Meta-Hue", "red"),
        ("Host", "h"),
    ]);
    let body = br#"{"body": {"name": "n", "created": 1704164645, "tags": {"k": "v"}}}"#;
    let v = decode_rest(&REST, op, &caps, &query, &headers, body).unwrap();
    assert_eq!(
        v,
        json!({
            "DetectorId": "abc",
            "MaxResults": 10,
            "Labels": ["a", "b"],
            "Extra": {"fr": "form"},
            "Since": 1704164645,
            "Meta": {"hue": "red"},
            "Body": {"Name": "n", "Created": 1704164645, "Tags": {"k": "v"}},
        })
    );
    assert!(validate(&REST, op.input.unwrap(), &v).is_ok());
    let err =
        decode_rest(&REST, op, &caps, &pairs(&[("maxResults", "ten")]), &[], b"").unwrap_err();
    assert_eq!(err.code, "ValidationException");
    let err = decode_rest(&REST, op, &caps, &[], &[], b"[1]").unwrap_err();
    assert_eq!(err.code, "SerializationException");
    let err = decode_rest(&REST, op, &caps, &[], &[], b"{nope").unwrap_err();
    assert_eq!(err.code, "SerializationException");
    // Payload members take the raw body.
    let (op, caps) = match_rest(&REST, "PUT", "/blobs/k1").unwrap();
    let v = decode_rest(&REST, op, &caps, &[], &[], b"\x00\x01").unwrap();
    assert_eq!(v, json!({"Key": "k1", "Data": "AAE="}));
}

#[test]
fn rest_encode() {
    let op = REST
        .operations
        .iter()
        .find(|o| o.name == "GetThing")
        .unwrap();
    let out = json!({"Thing": {"Name": "n", "Created": 1.5}, "ETag": "abc", "When": 1704164645, "Status": 202});
    let (status, headers, body) = encode_rest_response(&REST, op, &out);
    assert_eq!(status, 202);
    assert!(headers.contains(&("ETag".to_string(), "abc".to_string())));
    assert!(headers.contains(&(
        "X-When".to_string(),
        "Tue, 02 Jan 2024 03:04:05 GMT".to_string()
    )));
    assert!(headers.contains(&("Content-Type".to_string(), "application/json".to_string())));
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body, json!({"thing": {"name": "n", "created": 1.5}}));

    let put = REST
        .operations
        .iter()
        .find(|o| o.name == "PutBlob")
        .unwrap();
    let (status, headers, body) =
        encode_rest_response(&REST, put, &json!({"Key": "k", "Data": "AAE="}));
    assert_eq!((status, body), (201, vec![0u8, 1]));
    assert!(headers.contains(&(
        "Content-Type".to_string(),
        "application/octet-stream".to_string()
    )));

    let list = REST
        .operations
        .iter()
        .find(|o| o.name == "ListObjects")
        .unwrap();
    assert_eq!(
        encode_rest_response(&REST, list, &json!(null)),
        (200, vec![], vec![])
    );
}

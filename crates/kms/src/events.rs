//! What KMS's CloudTrail events show beyond the request and response members: the encryption
//! algorithm even when the caller left it to its default, and the key material an operation
//! used (`additionalEventData.keyMaterialId`, or `sourceKeyMaterialId` and
//! `destinationKeyMaterialId` for ReEncrypt), as in AWS's published log entries.
use serde_json::{Map, Value};

const DEFAULT_ALGORITHM: &str = "SYMMETRIC_DEFAULT";

/// The request members CloudTrail always shows for `op`, with the value they take when the
/// caller leaves them out.
fn defaults(op: &str) -> &'static [&'static str] {
    match op {
        "Encrypt" | "Decrypt" => &["encryptionAlgorithm"],
        "ReEncrypt" => &[
            "sourceEncryptionAlgorithm",
            "destinationEncryptionAlgorithm",
        ],
        _ => &[],
    }
}

/// The cryptographic operations whose events name the key material they used.
const CRYPTO_OPS: &[&str] = &[
    "Encrypt",
    "Decrypt",
    "ReEncrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
];

/// Response members naming key material, and the name CloudTrail gives each.
const MATERIAL_MEMBERS: &[(&str, &str)] = &[
    ("KeyMaterialId", "keyMaterialId"),
    ("SourceKeyMaterialId", "sourceKeyMaterialId"),
    ("DestinationKeyMaterialId", "destinationKeyMaterialId"),
];

/// Completes the event of KMS operation `op`: `params` is its `requestParameters` (the
/// model's view of the request), `output` the response when the call succeeded, and
/// `additional` its `additionalEventData`.
pub fn complete_event(
    op: &str,
    params: &mut Value,
    output: Option<&Value>,
    additional: &mut Value,
) {
    let names = defaults(op);
    if !names.is_empty() {
        with_object(params, |map| {
            for n in names {
                map.entry(*n)
                    .or_insert_with(|| Value::String(DEFAULT_ALGORITHM.to_string()));
            }
        });
    }
    let Some(out) = output else {
        return;
    };
    if !CRYPTO_OPS.contains(&op) {
        return;
    }
    let mut named = false;
    for (member, name) in MATERIAL_MEMBERS {
        if let Some(id) = out.get(*member).and_then(Value::as_str) {
            named = true;
            with_object(additional, |m| {
                m.insert((*name).to_string(), Value::String(id.to_string()));
            });
        }
    }
    // Encrypt's response does not name the material: its symmetric ciphertext does.
    let symmetric =
        params.get("encryptionAlgorithm").and_then(Value::as_str) == Some(DEFAULT_ALGORITHM);
    if !named && op == "Encrypt" && symmetric {
        let id = out
            .get("CiphertextBlob")
            .and_then(Value::as_str)
            .and_then(|b| crate::blob::header_b64(b).ok())
            .map(|h| h.public_material_id());
        if let Some(id) = id {
            with_object(additional, |m| {
                m.insert("keyMaterialId".to_string(), Value::String(id));
            });
        }
    }
}

/// Runs `f` on `v` as a JSON object (an empty one if `v` was anything else).
fn with_object(v: &mut Value, f: impl FnOnce(&mut Map<String, Value>)) {
    let mut map = match std::mem::take(v) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    f(&mut map);
    *v = Value::Object(map);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decrypt_shows_default_algorithm_and_material() {
        let mut params = json!({"encryptionContext": {"a": "b"}});
        let mut extra = json!({"authorization": {"decision": "Allow"}});
        let out = json!({"KeyId": "arn", "KeyMaterialId": "ab12"});
        complete_event("Decrypt", &mut params, Some(&out), &mut extra);
        assert_eq!(params["encryptionAlgorithm"], "SYMMETRIC_DEFAULT");
        assert_eq!(extra["keyMaterialId"], "ab12");
        assert_eq!(extra["authorization"]["decision"], "Allow");
    }

    #[test]
    fn given_algorithm_is_kept_and_failures_name_no_material() {
        let mut params = json!({"encryptionAlgorithm": "RSAES_OAEP_SHA_256"});
        let mut extra = Value::Null;
        complete_event("Encrypt", &mut params, None, &mut extra);
        assert_eq!(params["encryptionAlgorithm"], "RSAES_OAEP_SHA_256");
        assert!(extra.is_null());
    }

    #[test]
    fn reencrypt_names_both_materials() {
        let mut params = Value::Null;
        let mut extra = Value::Null;
        let out = json!({"SourceKeyMaterialId": "s", "DestinationKeyMaterialId": "d"});
        complete_event("ReEncrypt", &mut params, Some(&out), &mut extra);
        assert_eq!(params["sourceEncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
        assert_eq!(
            params["destinationEncryptionAlgorithm"],
            "SYMMETRIC_DEFAULT"
        );
        assert_eq!(
            extra,
            json!({"sourceKeyMaterialId": "s", "destinationKeyMaterialId": "d"})
        );
    }
}

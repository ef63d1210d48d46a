//! The scalar types of the generated structs that Rust has no primitive for.
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use zeroize::Zeroize;

/// A point in time as the JSON protocols carry it: seconds since the Unix epoch, possibly
/// fractional. Serializes as a JSON number (an integer when whole).
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd)]
pub struct Timestamp(pub f64);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }

    /// Millisecond precision, like AWS.
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Timestamp(t.timestamp_millis() as f64 / 1000.0)
    }

    /// `None` when out of chrono's range or not finite.
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        if !self.0.is_finite() {
            return None;
        }
        let millis = (self.0 * 1000.0).round();
        if millis.abs() > 8.0e15 {
            return None;
        }
        Utc.timestamp_millis_opt(millis as i64).single()
    }

    pub fn from_secs(secs: i64) -> Self {
        Timestamp(secs as f64)
    }

    pub fn secs(self) -> f64 {
        self.0
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self::from_datetime(t)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            s.serialize_i64(v as i64)
        } else {
            s.serialize_f64(v)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(Timestamp)
    }
}

/// Binary data; base64 on the JSON wire. Its `Debug` shows only the length, and the bytes
/// are zeroized when dropped (plaintexts and data keys travel in these).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Blob(Vec<u8>);

impl Blob {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Blob(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Takes the bytes out; the caller is now responsible for zeroizing them.
    pub fn into_inner(mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }

    /// The standard base64 encoding (with padding).
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.0)
    }

    pub fn from_base64(s: &str) -> Result<Self, base64::DecodeError> {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Blob)
    }
}

impl Drop for Blob {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl From<Vec<u8>> for Blob {
    fn from(v: Vec<u8>) -> Self {
        Blob(v)
    }
}

impl From<&[u8]> for Blob {
    fn from(v: &[u8]) -> Self {
        Blob(v.to_vec())
    }
}

impl AsRef<[u8]> for Blob {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::Deref for Blob {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = self.to_base64();
        let r = s.serialize_str(&text);
        text.zeroize();
        r
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Blob;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Blob, E> {
                Blob::from_base64(s).map_err(|_| E::custom("invalid base64"))
            }
        }
        d.deserialize_str(V)
    }
}

/// The input or output of an operation that has none: serializes as `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_serializes_whole_seconds_as_integers() {
        assert_eq!(
            serde_json::to_string(&Timestamp(1.0e9)).unwrap_or_default(),
            "1000000000"
        );
        assert_eq!(
            serde_json::to_string(&Timestamp(1.5)).unwrap_or_default(),
            "1.5"
        );
        let t: Timestamp = serde_json::from_str("1700000000.25").unwrap_or_default();
        assert_eq!(t, Timestamp(1_700_000_000.25));
        let dt = t.to_datetime().map(|d| d.to_rfc3339());
        assert_eq!(dt.as_deref(), Some("2023-11-14T22:13:20.250+00:00"));
    }

    #[test]
    fn blob_debug_hides_bytes() {
        let b = Blob::new(b"secret".to_vec());
        assert_eq!(format!("{b:?}"), "Blob(6 bytes)");
        assert_eq!(
            serde_json::to_string(&b).unwrap_or_default(),
            "\"c2VjcmV0\""
        );
        let back: Result<Blob, _> = serde_json::from_str("\"c2VjcmV0\"");
        assert_eq!(back.ok(), Some(b));
        assert!(serde_json::from_str::<Blob>("\"!!\"").is_err());
    }
}

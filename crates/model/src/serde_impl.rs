//! The serde impls of the generated structures go through these two helpers instead of
//! `#[derive(Serialize, Deserialize)]`: same behaviour (members by their model names,
//! absent optional members skipped, unknown members ignored, a missing member takes its
//! default), a fraction of the compile time (the derives made up most of the crate's
//! build time).
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::Deserialize as _;
use serde_json::{Map, Value};

/// Reads the members of a structure out of any deserializer.
pub struct StructReader {
    map: Map<String, Value>,
}

impl StructReader {
    pub fn new<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Object(map) => Ok(StructReader { map }),
            Value::Null => Ok(StructReader { map: Map::new() }),
            Value::Array(_) => Err(de::Error::invalid_type(de::Unexpected::Seq, &"a structure")),
            Value::String(s) => Err(de::Error::invalid_type(
                de::Unexpected::Str(&s),
                &"a structure",
            )),
            Value::Bool(b) => Err(de::Error::invalid_type(
                de::Unexpected::Bool(b),
                &"a structure",
            )),
            Value::Number(_) => Err(de::Error::invalid_type(
                de::Unexpected::Other("a number"),
                &"a structure",
            )),
        }
    }

    /// A member that must be there (validation has checked); its default when absent.
    pub fn req<T: DeserializeOwned + Default, E: de::Error>(&mut self, name: &str) -> Result<T, E> {
        Ok(self.opt(name)?.unwrap_or_default())
    }

    /// An optional member; `null` counts as absent.
    pub fn opt<T: DeserializeOwned, E: de::Error>(&mut self, name: &str) -> Result<Option<T>, E> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| E::custom(format_args!("{name}: {e}"))),
        }
    }
}

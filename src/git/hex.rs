//! serde for object ids as the hex text git shows (`#[serde(with = "crate::git::hex")]`, and
//! [`opt`] for an optional one), the form journals and the operation log have always had.

use gix::ObjectId;
use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(id: &ObjectId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectId, D::Error> {
    let text = String::deserialize(d)?;
    ObjectId::from_hex(text.as_bytes())
        .map_err(|e| serde::de::Error::custom(format!("not an object id: {text:?} ({e})")))
}

/// An optional object id: hex text or `null`.
pub mod opt {
    use gix::ObjectId;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &Option<ObjectId>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => s.collect_str(id),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ObjectId>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => ObjectId::from_hex(text.as_bytes())
                .map(Some)
                .map_err(|e| serde::de::Error::custom(format!("not an object id: {text:?} ({e})"))),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_round_trip_as_hex() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct T {
            #[serde(with = "super")]
            a: gix::ObjectId,
            #[serde(with = "super::opt")]
            b: Option<gix::ObjectId>,
            #[serde(with = "super::opt")]
            c: Option<gix::ObjectId>,
        }
        let text = r#"{"a":"435f2ed36683b5db980a19f06ab088d20a5c7abe","b":null,"c":"302d9d56564235c98027d4cff5820563abe5392c"}"#;
        let t: T = serde_json::from_str(text).expect("read");
        assert_eq!(serde_json::to_string(&t).expect("write"), text);
        assert!(serde_json::from_str::<T>(r#"{"a":"main","b":null,"c":null}"#).is_err());
    }
}

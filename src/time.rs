//! UTC timestamps in ISO-8601 (`2026-02-07T11:15:06Z`) through jiff (already in the tree via
//! gix-date). GIT_PARALLEL_NOW overrides the clock (reproducible tests and demos).

use jiff::Timestamp;

/// The text format of every timestamp git-parallel writes.
const FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// GIT_PARALLEL_NOW, when set and not empty.
fn fixed_now() -> Option<String> {
    std::env::var("GIT_PARALLEL_NOW")
        .ok()
        .filter(|v| !v.is_empty())
}

/// Now, as written in task files, the journal and the log. A GIT_PARALLEL_NOW value is used
/// as it is.
pub fn now_iso() -> String {
    match fixed_now() {
        Some(fixed) => fixed,
        None => Timestamp::now().strftime(FORMAT).to_string(),
    }
}

/// Now in seconds since the epoch (GIT_PARALLEL_NOW when set; 0 when that is not a time).
pub fn now_secs() -> u64 {
    match fixed_now() {
        Some(fixed) => parse_iso(&fixed).unwrap_or(0),
        None => u64::try_from(Timestamp::now().as_second()).unwrap_or(0),
    }
}

/// Now (GIT_PARALLEL_NOW when set and a time), to the second.
pub fn now() -> Timestamp {
    fixed_now()
        .and_then(|f| parse(&f))
        .unwrap_or_else(Timestamp::now)
        .round(jiff::Unit::Second)
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (or any RFC 3339 time) read back.
fn parse(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>()
        .ok()
        .or_else(|| parse_iso(s).and_then(|secs| Timestamp::from_second(secs as i64).ok()))
}

/// serde for a [`Timestamp`] in the text format of every timestamp git-parallel writes
/// (`#[serde(with = "crate::time::text")]`). A text that is no time (a GIT_PARALLEL_NOW an
/// earlier release wrote as it was) reads as the epoch rather than making the file unreadable.
pub mod text {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.strftime(super::FORMAT))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        Ok(super::parse(&s).unwrap_or(Timestamp::UNIX_EPOCH))
    }
}

/// Seconds since the epoch → `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .strftime(FORMAT)
        .to_string()
}

/// Parses `YYYY-MM-DDTHH:MM:SS` (UTC; what follows the seconds is ignored) back to seconds
/// since the epoch (for backup ages); None if not that shape.
pub fn parse_iso(s: &str) -> Option<u64> {
    let civil = jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%S", s.get(..19)?).ok()?;
    let t = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    u64::try_from(t.as_second()).ok()
}

/// A duration: a bare number of seconds (`90`, `0.5`) or what jiff's friendly format reads
/// (`90s`, `30m`, `2h`, `250ms`, `0.5s`, `1h 30m`, `1 hour`); `None` when negative or not one.
pub fn parse_duration(v: &str) -> Option<std::time::Duration> {
    let v = v.trim();
    let d = match v.parse::<f64>() {
        Ok(secs) => jiff::SignedDuration::try_from_secs_f64(secs).ok()?,
        Err(_) => v.parse::<jiff::SignedDuration>().ok()?,
    };
    std::time::Duration::try_from(d).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        assert_eq!(super::iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::iso(1_770_462_906), "2026-02-07T11:15:06Z");
        assert_eq!(
            super::parse_iso("2026-02-07T11:15:06Z"),
            Some(1_770_462_906)
        );
        assert_eq!(super::parse_iso("2026-02-07"), None);
        assert_eq!(super::parse_iso("not a time at all"), None);
    }

    #[test]
    fn timestamps_serialise_as_before() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct T {
            #[serde(with = "super::text")]
            at: jiff::Timestamp,
        }
        let t: T = serde_json::from_str(r#"{"at":"2026-02-07T11:15:06Z"}"#).expect("read");
        assert_eq!(t.at.as_second(), 1_770_462_906);
        assert_eq!(
            serde_json::to_string(&t).expect("write"),
            r#"{"at":"2026-02-07T11:15:06Z"}"#
        );
        let t: T = serde_json::from_str(r#"{"at":"later"}"#).expect("lenient");
        assert_eq!(t.at, jiff::Timestamp::UNIX_EPOCH);
    }
}

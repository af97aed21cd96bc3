//! UTC timestamps as stored (fixed-width RFC 3339 text, which sorts in time
//! order on both backends) and the clock that hands them out.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Serialize, Serializer};
use sqlx::any::AnyTypeInfo;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Any, Database, Decode, Encode, Type};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

const STORED: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
const DISPLAY: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute] UTC");

/// A point in time, always UTC, with microsecond precision.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn from_offset(at: OffsetDateTime) -> Self {
        let utc = at.to_offset(UtcOffset::UTC);
        // Drop nanoseconds so a value survives a round trip through the database unchanged.
        let micros = utc.microsecond();
        Self(utc.replace_microsecond(micros).unwrap_or(utc))
    }

    pub fn parse(text: &str) -> Result<Self, time::error::Parse> {
        let naive = PrimitiveDateTime::parse(text, STORED)?;
        Ok(Self(naive.assume_utc()))
    }

    /// The stored form: `2026-11-28T07:26:36.123456Z`.
    pub fn to_stored(self) -> String {
        // The format has no fallible component for UTC dates within year 0..=9999.
        self.0.format(STORED).unwrap_or_default()
    }

    /// A short form for pages: `2026-11-28 07:26 UTC`.
    pub fn display(self) -> String {
        self.0.format(DISPLAY).unwrap_or_default()
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    pub fn plus(self, by: Duration) -> Self {
        Self(self.0 + by)
    }

    pub fn minus(self, by: Duration) -> Self {
        Self(self.0 - by)
    }

    /// Time from `earlier` to `self`.
    pub fn since(self, earlier: Timestamp) -> Duration {
        self.0 - earlier.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_stored())
    }
}

impl Type<Any> for Timestamp {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }
}

impl Encode<'_, Any> for Timestamp {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'_, Any>>::encode(self.to_stored(), buf)
    }
}

impl<'r> Decode<'r, Any> for Timestamp {
    fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <String as Decode<'r, Any>>::decode(value)?;
        Ok(Timestamp::parse(&text)?)
    }
}

/// The source of "now". Production uses the system clock; tests move a
/// [`Clock::adjustable`] clock forward instead of sleeping.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_micros: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that starts at the system time and can be advanced.
    pub fn adjustable() -> Self {
        Self {
            offset_micros: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    pub fn now(&self) -> Timestamp {
        let offset = self
            .offset_micros
            .as_ref()
            .map_or(0, |offset| offset.load(Ordering::SeqCst));
        Timestamp::from_offset(OffsetDateTime::now_utc() + Duration::microseconds(offset))
    }

    /// Moves an adjustable clock forward; the system clock ignores this.
    pub fn advance(&self, by: Duration) {
        if let Some(offset) = &self.offset_micros {
            let micros = i64::try_from(by.whole_microseconds()).unwrap_or(i64::MAX);
            offset.fetch_add(micros, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips_and_sorts() {
        let clock = Clock::adjustable();
        let early = clock.now();
        clock.advance(Duration::milliseconds(1500));
        let late = clock.now();
        let (a, b) = (early.to_stored(), late.to_stored());
        assert_eq!(a.len(), 27);
        assert!(a < b);
        assert_eq!(Timestamp::parse(&a).unwrap(), early);
    }
}

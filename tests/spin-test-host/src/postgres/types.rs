//! Conversions between `spin:postgres` WIT values and PostgreSQL wire types.
//!
//! The Rust types chosen for each variant are the ones real Spin 4 uses, so that
//! `tokio-postgres`' `accepts` checks refuse exactly what Spin refuses: a `datetime`
//! is a `chrono::NaiveDateTime` (binds to `timestamp` only, so `timestamptz` fails
//! with a type error), `timestamp` seconds are a `DateTime<Utc>`, and a
//! `timestamptz` column cannot be decoded.

use std::error::Error as StdError;

use bytes::{Buf, BufMut, BytesMut};
use chrono::{Datelike, Timelike};
use postgres_range::{BoundSided, BoundType, Normalizable, Range, RangeBound};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use super::bindings::spin::postgres::postgres::{
    Column, DbDataType, DbValue, Interval, ParameterValue, RangeBoundKind,
};

type BoxError = Box<dyn StdError + Sync + Send>;

/// A parameter ready to be bound by `tokio-postgres`.
pub type SqlParam = Box<dyn ToSql + Send + Sync>;

/// The WIT column type Spin reports for a PostgreSQL type.
pub fn data_type(pg_type: &Type) -> DbDataType {
    match *pg_type {
        Type::BOOL => DbDataType::Boolean,
        Type::BYTEA => DbDataType::Binary,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => DbDataType::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::UUID => DbDataType::Uuid,
        Type::JSONB => DbDataType::Jsonb,
        Type::NUMERIC => DbDataType::Decimal,
        Type::INT4_RANGE => DbDataType::RangeInt32,
        Type::INT8_RANGE => DbDataType::RangeInt64,
        Type::NUM_RANGE => DbDataType::RangeDecimal,
        Type::INT4_ARRAY => DbDataType::ArrayInt32,
        Type::INT8_ARRAY => DbDataType::ArrayInt64,
        Type::NUMERIC_ARRAY => DbDataType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => DbDataType::ArrayStr,
        Type::INTERVAL => DbDataType::Interval,
        _ => DbDataType::Other(pg_type.name().to_owned()),
    }
}

/// The columns of a result, described from one of its rows (as Spin does).
pub fn columns(row: &Row) -> Vec<Column> {
    row.columns()
        .iter()
        .map(|column| Column {
            name: column.name().to_owned(),
            data_type: data_type(column.type_()),
        })
        .collect()
}

/// Decodes every value of a row; the first value that cannot be decoded fails the row.
pub fn decode_row(row: &Row) -> Result<Vec<DbValue>, BoxError> {
    (0..row.len())
        .map(|index| decode_value(row, index))
        .collect()
}

fn get<'a, T: FromSql<'a>, W>(
    row: &'a Row,
    index: usize,
    wrap: impl FnOnce(T) -> Result<W, BoxError>,
    variant: impl FnOnce(W) -> DbValue,
) -> Result<DbValue, BoxError> {
    match row.try_get::<_, Option<T>>(index)? {
        Some(value) => Ok(variant(wrap(value)?)),
        None => Ok(DbValue::DbNull),
    }
}

fn same<T>(value: T) -> Result<T, BoxError> {
    Ok(value)
}

fn decode_value(row: &Row, index: usize) -> Result<DbValue, BoxError> {
    match *row.columns()[index].type_() {
        Type::BOOL => get(row, index, same, DbValue::Boolean),
        Type::BYTEA => get(row, index, same, DbValue::Binary),
        Type::FLOAT4 => get(row, index, same, DbValue::Floating32),
        Type::FLOAT8 => get(row, index, same, DbValue::Floating64),
        Type::INT2 => get(row, index, same, DbValue::Int16),
        Type::INT4 => get(row, index, same, DbValue::Int32),
        Type::INT8 => get(row, index, same, DbValue::Int64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => get(row, index, same, DbValue::Str),
        // `timestamptz` lands here too and fails: `NaiveDateTime` only accepts `timestamp`.
        Type::TIMESTAMP | Type::TIMESTAMPTZ => get(row, index, datetime_to_wit, DbValue::Datetime),
        Type::DATE => get(row, index, date_to_wit, DbValue::Date),
        Type::TIME => get(row, index, time_to_wit, DbValue::Time),
        Type::UUID => get(row, index, |v: uuid::Uuid| Ok(v.to_string()), DbValue::Uuid),
        Type::JSONB => get(
            row,
            index,
            |v: serde_json::Value| Ok(serde_json::to_vec(&v)?),
            DbValue::Jsonb,
        ),
        Type::NUMERIC => get(
            row,
            index,
            |v: rust_decimal::Decimal| Ok(v.to_string()),
            DbValue::Decimal,
        ),
        Type::INT4_RANGE => get(
            row,
            index,
            |v: Range<i32>| Ok(range_to_wit(&v, |n| *n)),
            DbValue::RangeInt32,
        ),
        Type::INT8_RANGE => get(
            row,
            index,
            |v: Range<i64>| Ok(range_to_wit(&v, |n| *n)),
            DbValue::RangeInt64,
        ),
        Type::NUM_RANGE => get(
            row,
            index,
            |v: Range<RangeableDecimal>| Ok(range_to_wit(&v, |d| d.0.to_string())),
            DbValue::RangeDecimal,
        ),
        Type::INT4_ARRAY => get(row, index, same, DbValue::ArrayInt32),
        Type::INT8_ARRAY => get(row, index, same, DbValue::ArrayInt64),
        Type::NUMERIC_ARRAY => get(
            row,
            index,
            |v: Vec<Option<rust_decimal::Decimal>>| {
                Ok(v.into_iter().map(|d| d.map(|d| d.to_string())).collect())
            },
            DbValue::ArrayDecimal,
        ),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => {
            get(row, index, same, DbValue::ArrayStr)
        }
        Type::INTERVAL => get(row, index, |v: PgInterval| Ok(v.0), DbValue::Interval),
        // Spin hands any other type (json, name, citext, enums, ...) over as its raw
        // binary encoding, which the SDK refuses to decode into Rust types.
        _ => get(row, index, |v: RawBytes| Ok(v.0), DbValue::Unsupported),
    }
}

/// (year, month, day, hour, minute, second, nanosecond), as the WIT `datetime` carries it.
type WitDatetime = (i32, u8, u8, u8, u8, u8, u32);

fn datetime_to_wit(value: chrono::NaiveDateTime) -> Result<WitDatetime, BoxError> {
    let (year, month, day) = date_to_wit(value.date())?;
    let (hour, minute, second, nanosecond) = time_to_wit(value.time())?;
    Ok((year, month, day, hour, minute, second, nanosecond))
}

fn date_to_wit(value: chrono::NaiveDate) -> Result<(i32, u8, u8), BoxError> {
    Ok((
        value.year(),
        value.month().try_into()?,
        value.day().try_into()?,
    ))
}

fn time_to_wit(value: chrono::NaiveTime) -> Result<(u8, u8, u8, u32), BoxError> {
    Ok((
        value.hour().try_into()?,
        value.minute().try_into()?,
        value.second().try_into()?,
        value.nanosecond(),
    ))
}

type WitBound<T> = Option<(T, RangeBoundKind)>;

fn range_to_wit<T, W>(range: &Range<T>, convert: impl Fn(&T) -> W) -> (WitBound<W>, WitBound<W>)
where
    T: Normalizable + PartialOrd,
{
    fn bound<S: BoundSided, T, W>(
        b: &RangeBound<S, T>,
        convert: &impl Fn(&T) -> W,
    ) -> (W, RangeBoundKind) {
        let kind = match b.type_ {
            BoundType::Inclusive => RangeBoundKind::Inclusive,
            BoundType::Exclusive => RangeBoundKind::Exclusive,
        };
        (convert(&b.value), kind)
    }
    (
        range.lower().map(|b| bound(b, &convert)),
        range.upper().map(|b| bound(b, &convert)),
    )
}

/// Converts guest parameters; the error names the offending parameter.
pub fn to_sql_params(params: &[ParameterValue]) -> Result<Vec<SqlParam>, String> {
    params
        .iter()
        .enumerate()
        .map(|(index, value)| {
            to_sql_param(value).map_err(|e| format!("parameter ${}: {e}", index + 1))
        })
        .collect()
}

fn to_sql_param(value: &ParameterValue) -> Result<SqlParam, String> {
    Ok(match value {
        ParameterValue::Boolean(v) => Box::new(*v),
        ParameterValue::Int8(v) => Box::new(*v),
        ParameterValue::Int16(v) => Box::new(*v),
        ParameterValue::Int32(v) => Box::new(*v),
        ParameterValue::Int64(v) => Box::new(*v),
        ParameterValue::Floating32(v) => Box::new(*v),
        ParameterValue::Floating64(v) => Box::new(*v),
        ParameterValue::Str(v) => Box::new(v.clone()),
        ParameterValue::Binary(v) => Box::new(v.clone()),
        ParameterValue::Date(v) => Box::new(date_from_wit(*v)?),
        ParameterValue::Time(v) => Box::new(time_from_wit(*v)?),
        ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => Box::new(chrono::NaiveDateTime::new(
            date_from_wit((*y, *mo, *d))?,
            time_from_wit((*h, *mi, *s, *ns))?,
        )),
        ParameterValue::Timestamp(seconds) => Box::new(
            chrono::DateTime::<chrono::Utc>::from_timestamp(*seconds, 0)
                .ok_or_else(|| format!("invalid epoch timestamp {seconds}"))?,
        ),
        ParameterValue::Uuid(v) => {
            Box::new(uuid::Uuid::parse_str(v).map_err(|e| format!("invalid UUID {v}: {e}"))?)
        }
        ParameterValue::Jsonb(v) => Box::new(
            serde_json::from_slice::<serde_json::Value>(v)
                .map_err(|e| format!("invalid JSON: {e}"))?,
        ),
        ParameterValue::Decimal(v) => Box::new(decimal_from_wit(v)?),
        ParameterValue::RangeInt32((lower, upper)) => Box::new(range_from_wit(*lower, *upper)),
        ParameterValue::RangeInt64((lower, upper)) => Box::new(range_from_wit(*lower, *upper)),
        ParameterValue::RangeDecimal((lower, upper)) => {
            let convert = |bound: &WitBound<String>| {
                bound
                    .as_ref()
                    .map(|(v, kind)| decimal_from_wit(v).map(|d| (RangeableDecimal(d), *kind)))
                    .transpose()
            };
            Box::new(range_from_wit(convert(lower)?, convert(upper)?))
        }
        ParameterValue::ArrayInt32(v) => Box::new(v.clone()),
        ParameterValue::ArrayInt64(v) => Box::new(v.clone()),
        ParameterValue::ArrayDecimal(v) => Box::new(
            v.iter()
                .map(|d| d.as_deref().map(decimal_from_wit).transpose())
                .collect::<Result<Vec<_>, _>>()?,
        ),
        ParameterValue::ArrayStr(v) => Box::new(v.clone()),
        ParameterValue::Interval(v) => Box::new(PgInterval(*v)),
        ParameterValue::DbNull => Box::new(Null),
    })
}

fn date_from_wit((year, month, day): (i32, u8, u8)) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::from_ymd_opt(year, month.into(), day.into())
        .ok_or_else(|| format!("invalid date {year}-{month}-{day}"))
}

fn time_from_wit(
    (hour, minute, second, nanos): (u8, u8, u8, u32),
) -> Result<chrono::NaiveTime, String> {
    chrono::NaiveTime::from_hms_nano_opt(hour.into(), minute.into(), second.into(), nanos)
        .ok_or_else(|| format!("invalid time {hour}:{minute}:{second}.{nanos}"))
}

fn decimal_from_wit(value: &str) -> Result<rust_decimal::Decimal, String> {
    rust_decimal::Decimal::from_str_exact(value)
        .map_err(|e| format!("invalid decimal {value}: {e}"))
}

fn range_from_wit<T: Normalizable + PartialOrd>(
    lower: WitBound<T>,
    upper: WitBound<T>,
) -> Range<T> {
    fn bound<S: BoundSided, T: PartialOrd>((value, kind): (T, RangeBoundKind)) -> RangeBound<S, T> {
        let kind = match kind {
            RangeBoundKind::Inclusive => BoundType::Inclusive,
            RangeBoundKind::Exclusive => BoundType::Exclusive,
        };
        RangeBound::new(value, kind)
    }
    Range::new(lower.map(bound), upper.map(bound))
}

/// `rust_decimal::Decimal` in a form `postgres_range` can hold (it needs `Normalizable`).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
struct RangeableDecimal(rust_decimal::Decimal);

impl Normalizable for RangeableDecimal {
    fn normalize<S: BoundSided>(bound: RangeBound<S, Self>) -> RangeBound<S, Self> {
        bound
    }
}

impl ToSql for RangeableDecimal {
    to_sql_checked!();

    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.0.to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <rust_decimal::Decimal as ToSql>::accepts(ty)
    }
}

impl FromSql<'_> for RangeableDecimal {
    fn from_sql(ty: &Type, raw: &[u8]) -> Result<Self, BoxError> {
        rust_decimal::Decimal::from_sql(ty, raw).map(Self)
    }

    fn accepts(ty: &Type) -> bool {
        <rust_decimal::Decimal as FromSql>::accepts(ty)
    }
}

/// PostgreSQL `interval` in its binary form: microseconds, days, months.
#[derive(Debug)]
struct PgInterval(Interval);

impl ToSql for PgInterval {
    to_sql_checked!();

    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_i64(self.0.micros);
        out.put_i32(self.0.days);
        out.put_i32(self.0.months);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

impl FromSql<'_> for PgInterval {
    fn from_sql(_: &Type, mut raw: &[u8]) -> Result<Self, BoxError> {
        if raw.len() != 16 {
            return Err("interval: expected 16 bytes in binary format".into());
        }
        let micros = raw.get_i64();
        let days = raw.get_i32();
        let months = raw.get_i32();
        Ok(Self(Interval {
            micros,
            days,
            months,
        }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

/// The raw binary encoding of a value of a type Spin does not convert.
struct RawBytes(Vec<u8>);

impl FromSql<'_> for RawBytes {
    fn from_sql(_: &Type, raw: &[u8]) -> Result<Self, BoxError> {
        Ok(Self(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// SQL NULL, bindable to a parameter of any type.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(&self, _: &Type, _: &mut BytesMut) -> Result<IsNull, BoxError> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_guest_values_are_reported_with_their_position() {
        let params = [
            ParameterValue::Int32(1),
            ParameterValue::Date((2024, 2, 30)),
        ];
        let error = to_sql_params(&params).err();
        assert_eq!(
            error.as_deref(),
            Some("parameter $2: invalid date 2024-2-30")
        );
    }

    #[test]
    fn decimals_must_be_exact_base_10() {
        assert!(decimal_from_wit("12.50").is_ok());
        assert!(decimal_from_wit("twelve").is_err());
    }

    #[test]
    fn timestamps_are_seconds_since_the_epoch() {
        let param = ParameterValue::Timestamp(86_400);
        assert!(to_sql_param(&param).is_ok());
        assert!(to_sql_param(&ParameterValue::Timestamp(i64::MAX)).is_err());
    }
}

//! Reading typed values out of `spin_sdk::pg` rows and binding parameters.
//!
//! Ids travel as text (`$1::text::uuid`, so the parameter is typed `text`; `id::text`) and timestamps as RFC 3339 text built in
//! SQL by [`rfc3339!`], which keeps us to the parameter and column types every Spin
//! PostgreSQL host supports.

use platform::ApiError;
use spin_sdk::pg::{ParameterValue, Row};
use uuid::Uuid;

/// SQL rendering a UTC `timestamp` column as RFC 3339 text, e.g. `rfc3339!("o.created_at")`.
#[macro_export]
macro_rules! rfc3339 {
    ($column:literal) => {
        concat!(
            "to_char(",
            $column,
            ", 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
        )
    };
}

pub fn uuid(row: &Row, column: &str) -> Result<Uuid, ApiError> {
    let text: String = runtime::db::column(row, column)?;
    Uuid::parse_str(&text).map_err(ApiError::internal)
}

pub fn text(value: impl Into<String>) -> ParameterValue {
    ParameterValue::Str(value.into())
}

pub fn id(value: Uuid) -> ParameterValue {
    ParameterValue::Str(value.to_string())
}

/// Ids as one comma-separated text parameter, for `= ANY(string_to_array($n, ',')::uuid[])`.
pub fn id_list(ids: &[Uuid]) -> ParameterValue {
    let joined: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    ParameterValue::Str(joined.join(","))
}

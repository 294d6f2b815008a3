//! `spin:postgres/postgres@4.2.0` as the fixture component `tests/fixtures/pg-probe` sees it,
//! against the real PostgreSQL. Build the fixture first:
//! `cargo build --target wasm32-wasip2 --release -p pg-probe`.

use anyhow::Result;
use serde_json::Value;
use spin_test_host::{App, RunningApp, TestDatabase};

async fn start(db: &TestDatabase) -> Result<RunningApp> {
    App::builder("tests/fixtures/pg.spin.toml")
        .variable("database_url", db.url())
        .start()
        .await
}

async fn call(app: &RunningApp, method: reqwest::Method, path: &str) -> Result<(u16, Value)> {
    let response = reqwest::Client::new()
        .request(method, app.url(path))
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

async fn get(app: &RunningApp, path: &str) -> Result<(u16, Value)> {
    call(app, reqwest::Method::GET, path).await
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

const COLUMNS: [&str; 24] = [
    "b: DbDataType::Boolean",
    "i2: DbDataType::Int16",
    "i4: DbDataType::Int32",
    "i8: DbDataType::Int64",
    "f4: DbDataType::Floating32",
    "f8: DbDataType::Floating64",
    "t: DbDataType::Str",
    "vc: DbDataType::Str",
    "bc: DbDataType::Str",
    "by: DbDataType::Binary",
    "d: DbDataType::Date",
    "tm: DbDataType::Time",
    "ts: DbDataType::Datetime",
    "u: DbDataType::Uuid",
    "j: DbDataType::Jsonb",
    "n: DbDataType::Decimal",
    "r4: DbDataType::RangeInt32",
    "r8: DbDataType::RangeInt64",
    "rn: DbDataType::RangeDecimal",
    "a4: DbDataType::ArrayInt32",
    "a8: DbDataType::ArrayInt64",
    "at: DbDataType::ArrayStr",
    "an: DbDataType::ArrayDecimal",
    "iv: DbDataType::Interval",
];

/// What the guest reads back for the values `pg-probe` wrote (see `sample()` there).
const SAMPLE_ROW: [&str; 24] = [
    "DbValue::Boolean(true)",
    "DbValue::Int16(-12)",
    "DbValue::Int32(42)",
    "DbValue::Int64(9000000000)",
    "DbValue::Floating32(1.5)",
    "DbValue::Floating64(-2.25)",
    "DbValue::Str(\"héllo\")",
    "DbValue::Str(\"varying\")",
    // char(6) pads with blanks, as PostgreSQL does.
    "DbValue::Str(\"pad   \")",
    "DbValue::Binary([0, 1, 254, 255])",
    "DbValue::Date((2024, 2, 29))",
    "DbValue::Time((13, 14, 15, 250000000))",
    "DbValue::Datetime((2024, 2, 29, 23, 59, 58, 123456000))",
    "DbValue::Uuid(\"0191f0a4-7c6e-7a3b-9f10-2b3c4d5e6f70\")",
    "Jsonb({\"n\":1,\"tags\":[\"a\",\"b\"]})",
    "DbValue::Decimal(\"12345.6789\")",
    "DbValue::RangeInt32((Some((1, RangeBoundKind::Inclusive)), Some((10, RangeBoundKind::Exclusive))))",
    "DbValue::RangeInt64((Some((5000000000, RangeBoundKind::Inclusive)), None))",
    "DbValue::RangeDecimal((Some((\"1.5\", RangeBoundKind::Inclusive)), Some((\"2.5\", RangeBoundKind::Exclusive))))",
    "DbValue::ArrayInt32([Some(1), None, Some(3)])",
    "DbValue::ArrayInt64([Some(1099511627776)])",
    "DbValue::ArrayStr([Some(\"x\"), None])",
    "DbValue::ArrayDecimal([Some(\"0.10\"), None])",
    "DbValue::Interval(Interval { micros: 3600000001, days: 2, months: 14 })",
];

async fn assert_every_type_round_trips(mode: &str) -> Result<()> {
    let db = TestDatabase::create().await?;
    let app = start(&db).await?;

    let (status, body) = get(&app, &format!("/types/{mode}")).await?;

    assert_eq!(status, 200, "{body}");
    assert_eq!(strings(&body["columns"]), COLUMNS);
    let rows = body["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{body}");
    assert_eq!(strings(&rows[0]), SAMPLE_ROW);
    assert_eq!(
        strings(&rows[1]),
        vec!["DbValue::DbNull"; 24],
        "NULL of every type"
    );
    Ok(())
}

#[tokio::test]
async fn every_type_round_trips_through_the_blocking_calls() -> Result<()> {
    assert_every_type_round_trips("sync").await
}

#[tokio::test]
async fn every_type_round_trips_through_the_async_calls_and_row_stream() -> Result<()> {
    assert_every_type_round_trips("async").await
}

#[tokio::test]
async fn a_timestamptz_parameter_fails_with_a_type_error_like_spin() -> Result<()> {
    let db = TestDatabase::create().await?;
    let app = start(&db).await?;

    let (status, body) = get(&app, "/timestamptz/bind").await?;

    assert_eq!(status, 500, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    // Spin's own text: tokio-postgres' `WrongType { postgres: Timestamptz, rust: NaiveDateTime }`.
    assert!(error.starts_with("Error::QueryFailed("), "{error}");
    assert!(
        error.contains("WrongType") && error.contains("Timestamptz"),
        "{error}"
    );
    assert!(error.contains("NaiveDateTime"), "{error}");
    Ok(())
}

#[tokio::test]
async fn a_timestamptz_column_cannot_be_read_like_spin() -> Result<()> {
    let db = TestDatabase::create().await?;
    let app = start(&db).await?;

    for mode in ["sync", "async"] {
        let (status, body) = get(&app, &format!("/timestamptz/read/{mode}")).await?;

        assert_eq!(status, 500, "{mode}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.starts_with("Error::QueryFailed("), "{mode}: {error}");
        assert!(
            error.contains("WrongType") && error.contains("Timestamptz"),
            "{mode}: {error}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn types_spin_does_not_convert_arrive_as_raw_bytes() -> Result<()> {
    let db = TestDatabase::create().await?;
    let app = start(&db).await?;

    let (status, body) = get(&app, "/unsupported").await?;

    assert_eq!(status, 200, "{body}");
    assert_eq!(
        strings(&body["columns"]),
        [
            "nm: DbDataType::Other(\"name\")",
            "js: DbDataType::Other(\"json\")"
        ]
    );
    assert_eq!(
        strings(&body["rows"][0]),
        ["Unsupported(probe)", "Unsupported({\"a\": 1})"]
    );
    Ok(())
}

#[tokio::test]
async fn a_transaction_left_open_leaks_into_the_next_request_on_the_pooled_connection() -> Result<()>
{
    let db = TestDatabase::create().await?;
    let (direct, connection) = tokio_postgres::connect(&db.url(), tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    direct.batch_execute("CREATE TABLE leak (n int)").await?;
    let app = start(&db).await?;
    let committed = async || -> Result<i64> {
        Ok(direct
            .query_one("SELECT count(*) FROM leak", &[])
            .await?
            .get(0))
    };

    let (status, body) = call(&app, reqwest::Method::POST, "/begin").await?;
    assert_eq!(
        (status, body["inserted"].as_i64()),
        (200, Some(1)),
        "{body}"
    );

    // The next request reuses the connection: it is still inside the first request's
    // transaction and sees its uncommitted row, which nobody else can see.
    let (status, body) = get(&app, "/transaction").await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        strings(&body["rows"][0]),
        ["DbValue::Int64(1)", "DbValue::Boolean(true)"]
    );
    assert_eq!(committed().await?, 0);

    let (status, body) = call(&app, reqwest::Method::POST, "/rollback").await?;
    assert_eq!(status, 200, "{body}");
    let (_, body) = get(&app, "/transaction").await?;
    assert_eq!(
        strings(&body["rows"][0]),
        ["DbValue::Int64(0)", "DbValue::Boolean(false)"]
    );

    drop(direct);
    connection.await??;
    Ok(())
}

#[tokio::test]
async fn an_unreachable_database_is_connection_failed() -> Result<()> {
    let db = TestDatabase::create().await?;
    let app = start(&db).await?;

    let (status, body) = get(&app, "/unreachable").await?;

    assert_eq!(status, 503, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("Error::ConnectionFailed("), "{error}");
    Ok(())
}

#[tokio::test]
async fn the_connection_builder_opens_connections_and_refuses_ca_roots_clearly() -> Result<()> {
    let db = TestDatabase::create().await?;
    let app = start(&db).await?;

    let (status, body) = get(&app, "/builder").await?;

    assert_eq!(status, 200, "{body}");
    assert_eq!(strings(&body["rows"][0]), ["DbValue::Int32(1)"]);
    let ca_error = body["set_ca_root_error"].as_str().unwrap_or_default();
    assert!(
        ca_error.contains("not supported by the test host"),
        "{ca_error}"
    );
    Ok(())
}

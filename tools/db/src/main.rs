//! `db migrate` applies `migrations/*.sql`; `db seed` loads the demo catalog (and an admin
//! when `ADMIN_PASSWORD` is set); `db create-admin EMAIL` creates or resets an admin.
//! All read `DATABASE_URL` and are safe to run again.

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: db <migrate [DIR] | seed | create-admin EMAIL>\n\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/course_platform?sslmode=disable\n\
    ADMIN_PASSWORD=... (create-admin; seed creates ADMIN_EMAIL, default admin@example.com, when set)\n\
    ADMIN_NAME=... (optional, default Administrator)";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
    let client = db::connect(&url).await?;
    match args.first().map(String::as_str) {
        Some("migrate") => {
            let dir = args
                .get(1)
                .map(std::path::PathBuf::from)
                .unwrap_or_else(db::default_migrations_dir);
            let applied = db::migrate(&client, &dir).await?;
            if applied.is_empty() {
                println!("schema up to date");
            }
            for version in applied {
                println!("applied {version}");
            }
        }
        Some("seed") => {
            let report = db::seed::catalog(&client, db::seed::CatalogSize::DEMO).await?;
            println!(
                "catalog: {} categories, {} instructors, {} courses inserted (already present rows kept)",
                report.categories, report.instructors, report.courses
            );
            if std::env::var_os("ADMIN_PASSWORD").is_some() {
                let email = std::env::var("ADMIN_EMAIL").unwrap_or_else(|_| DEFAULT_ADMIN.into());
                create_admin(&client, &email).await?;
            }
        }
        Some("create-admin") => match args.get(1) {
            Some(email) => create_admin(&client, email).await?,
            None => bail!("{USAGE}"),
        },
        _ => bail!("{USAGE}"),
    }
    Ok(())
}

const DEFAULT_ADMIN: &str = "admin@example.com";

/// The password comes from the environment, never from arguments (shell history, `ps`),
/// and is never printed.
async fn create_admin(client: &tokio_postgres::Client, email: &str) -> Result<()> {
    let password = std::env::var("ADMIN_PASSWORD").context("ADMIN_PASSWORD is not set")?;
    let name = std::env::var("ADMIN_NAME").unwrap_or_else(|_| "Administrator".into());
    let id = db::accounts::create_admin(client, email, &name, &password).await?;
    println!("admin account ready (id {id})");
    Ok(())
}

//! Administrator accounts, created from the command line (there is no sign-up for admins).

use accounts_core::{Email, Password};
use anyhow::{Result, anyhow};
use tokio_postgres::Client;
use uuid::Uuid;

/// Creates the admin, or makes an existing account with this email an admin with this
/// password and name, so running it again is how an admin password is reset.
/// The password goes through the same policy and argon2id hashing as sign-up.
pub async fn create_admin(
    client: &Client,
    email: &str,
    name: &str,
    password: &str,
) -> Result<Uuid> {
    let email = Email::parse(email).map_err(|error| anyhow!("email {error}"))?;
    let password = Password::new(password.to_owned(), Some(&email))
        .map_err(|error| anyhow!("ADMIN_PASSWORD {error}"))?;
    let hash = password.hash()?;
    let row = client
        .query_one(
            "INSERT INTO users (id, email, name, password_hash, role) \
             VALUES ($1::text::uuid, $2, $3, $4, 'admin') \
             ON CONFLICT (email) DO UPDATE \
             SET name = EXCLUDED.name, password_hash = EXCLUDED.password_hash, role = 'admin' \
             RETURNING id::text",
            &[&Uuid::now_v7().to_string(), &email.as_str(), &name, &hash],
        )
        .await?;
    let id: String = row.get(0);
    Ok(id.parse()?)
}

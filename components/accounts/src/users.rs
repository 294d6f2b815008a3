//! The `users` table.

use accounts_core::{Registration, Role, User};
use platform::ApiError;
use runtime::db::query_error;
use spin_sdk::pg::{Connection, Row};
use uuid::Uuid;

/// A user as sign-in needs it: the public view and the stored hash.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// Inserts a student; `None` when the email is taken. One statement, so two concurrent
/// registrations of the same email cannot both succeed (the unique index decides).
pub async fn insert_student(
    db: &Connection,
    registration: &Registration,
    password_hash: &str,
) -> Result<Option<User>, ApiError> {
    let rows = db
        .query(
            "INSERT INTO users (id, email, name, password_hash, role) \
             VALUES ($1, $2, $3, $4, 'student') \
             ON CONFLICT (email) DO NOTHING \
             RETURNING id, email, name, role",
            [
                Uuid::now_v7().into(),
                registration.email.as_str().to_owned().into(),
                registration.name.clone().into(),
                password_hash.to_owned().into(),
            ],
        )
        .await
        .map_err(query_error)?
        .collect()
        .await
        .map_err(query_error)?;
    rows.first().map(user_from_row).transpose()
}

/// Looks up by normalized email for sign-in.
pub async fn find_credentials(
    db: &Connection,
    normalized_email: &str,
) -> Result<Option<Credentials>, ApiError> {
    let rows = db
        .query(
            "SELECT id, email, name, role, password_hash FROM users WHERE email = $1",
            [normalized_email.to_owned().into()],
        )
        .await
        .map_err(query_error)?
        .collect()
        .await
        .map_err(query_error)?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(Credentials {
        user: user_from_row(row)?,
        password_hash: column(row, "password_hash")?,
    }))
}

pub async fn find_by_id(db: &Connection, id: Uuid) -> Result<Option<User>, ApiError> {
    let rows = db
        .query(
            "SELECT id, email, name, role FROM users WHERE id = $1",
            [id.into()],
        )
        .await
        .map_err(query_error)?
        .collect()
        .await
        .map_err(query_error)?;
    rows.first().map(user_from_row).transpose()
}

fn user_from_row(row: &Row) -> Result<User, ApiError> {
    let role: String = column(row, "role")?;
    Ok(User {
        id: column(row, "id")?,
        email: column(row, "email")?,
        name: column(row, "name")?,
        role: Role::from_db(&role)
            .ok_or_else(|| ApiError::internal(format!("unknown role {role:?} in users")))?,
    })
}

fn column<T: spin_sdk::pg::Decode>(row: &Row, name: &str) -> Result<T, ApiError> {
    row.get(name)
        .ok_or_else(|| ApiError::internal(format!("users.{name} is missing or has another type")))
}

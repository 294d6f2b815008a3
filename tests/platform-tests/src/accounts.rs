//! Accounts endpoints: registration, sign-in, the current user and sign-out.

use std::ops::Deref;

use anyhow::{Result, ensure};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{Credentials, PASSWORD, TestApp};
use crate::http::{Call, Client, cookies_set};

/// The public view of an account, as the accounts API answers it.
pub type Account = accounts_core::User;

/// A signed-in user: the account's id and a client holding its cookies.
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub(crate) client: Client,
}

impl Deref for User {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl TestApp {
    /// A new user of `role` signed in through the API of `instance`.
    pub async fn user_on(&self, instance: &Client, role: accounts_core::Role) -> Result<User> {
        let credentials = self.db.create_user(role).await?;
        instance.signed_in(&credentials).await
    }

    pub async fn student(&self) -> Result<User> {
        self.user_on(&self.client, accounts_core::Role::Student)
            .await
    }

    pub async fn admin(&self) -> Result<User> {
        self.user_on(&self.client, accounts_core::Role::Admin).await
    }
}

impl Client {
    /// `POST /api/accounts` with `body` as it is (tests send invalid ones too).
    pub fn register(&self, body: &Value) -> Call<Account> {
        self.call(Method::POST, "/api/accounts", StatusCode::CREATED)
            .json(body)
    }

    /// `POST /api/session`.
    pub fn sign_in(&self, email: &str, password: &str) -> Call<Account> {
        self.call(Method::POST, "/api/session", StatusCode::OK)
            .json(&json!({ "email": email, "password": password }))
    }

    /// `GET /api/me`.
    pub fn me(&self) -> Call<Account> {
        self.call(Method::GET, "/api/me", StatusCode::OK)
    }

    /// `DELETE /api/session`.
    pub fn sign_out(&self) -> Call<()> {
        self.call(Method::DELETE, "/api/session", StatusCode::NO_CONTENT)
    }

    /// Signs in and returns the user holding the cookies a browser would send back: every
    /// cookie the answer set, the session among them. (The session cookie is `Secure`, so
    /// a cookie store would not replay it over plain HTTP.)
    pub async fn signed_in(&self, credentials: &Credentials) -> Result<User> {
        let response = self.sign_in(&credentials.email, PASSWORD).send().await?;
        ensure!(
            response.status() == StatusCode::OK,
            "sign-in failed: {} {}",
            response.status(),
            response.text().await?
        );
        let cookies = cookies_set(&response);
        ensure!(
            cookies.iter().any(|pair| pair.starts_with("cp_session=")),
            "sign-in set no cp_session cookie"
        );
        Ok(User {
            id: credentials.id,
            email: credentials.email.clone(),
            client: self.with_cookies(&cookies.join("; ")),
        })
    }

    /// Registers a fresh student through the API and signs in: the whole public flow.
    pub async fn register_and_sign_in(&self) -> Result<User> {
        let email = format!("{}@example.com", Uuid::now_v7().simple());
        let account = self
            .register(&json!({ "email": email, "password": PASSWORD, "name": "Test Student" }))
            .await?;
        self.signed_in(&Credentials {
            id: account.id,
            email,
        })
        .await
    }
}

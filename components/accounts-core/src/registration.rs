//! Request and response bodies of the accounts API, and validation of a registration.

use platform::ApiError;
use platform::problem::FieldError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Email, Password, Role};

const MAX_NAME_LENGTH: usize = 100;

/// The public view of an account (`User` in the OpenAPI document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
}

/// `POST /api/accounts`. Missing fields default to empty so they are reported per field.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegistrationRequest {
    pub email: String,
    pub password: platform::Secret,
    pub name: String,
}

/// `POST /api/session`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInRequest {
    pub email: String,
    pub password: platform::Secret,
}

/// A registration that passed every rule, ready to be hashed and stored.
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub name: String,
}

impl RegistrationRequest {
    /// Checks every field and reports all problems at once, so a form can show them together.
    pub fn validate(self) -> Result<Registration, ApiError> {
        let mut errors = Vec::new();
        let email = Email::parse(&self.email)
            .map_err(|error| errors.push(FieldError::new("email", error.to_string())))
            .ok();
        let password = Password::new(self.password.expose().to_owned(), email.as_ref())
            .map_err(|error| errors.push(FieldError::new("password", error.to_string())))
            .ok();
        let name = validate_name(&self.name)
            .map_err(|message| errors.push(FieldError::new("name", message)))
            .ok();
        match (email, password, name) {
            (Some(email), Some(password), Some(name)) => Ok(Registration {
                email,
                password,
                name,
            }),
            _ => Err(ApiError::BadRequest {
                detail: "the account details are invalid".into(),
                errors,
            }),
        }
    }
}

fn validate_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        Err("is required".into())
    } else if name.chars().count() > MAX_NAME_LENGTH {
        Err(format!("must be at most {MAX_NAME_LENGTH} characters"))
    } else if name.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(email: &str, password: &str, name: &str) -> RegistrationRequest {
        RegistrationRequest {
            email: email.into(),
            password: platform::Secret::new(password),
            name: name.into(),
        }
    }

    fn field_errors(error: ApiError) -> Vec<(String, String)> {
        match error {
            ApiError::BadRequest { errors, .. } => errors
                .into_iter()
                .map(|error| (error.field, error.message))
                .collect(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn valid_registration_is_normalized() {
        let registration = request(" Ann@Example.com", "correct horse battery", "  Ann Lee ")
            .validate()
            .expect("valid");
        assert_eq!(registration.email.as_str(), "ann@example.com");
        assert_eq!(registration.name, "Ann Lee");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let errors = field_errors(request("nope", "short", " ").validate().err().expect("400"));
        let fields: Vec<&str> = errors.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(fields, ["email", "password", "name"]);
    }

    #[test]
    fn missing_fields_are_reported_as_required() {
        let parsed: RegistrationRequest = serde_json::from_str("{}").expect("parses");
        let errors = field_errors(parsed.validate().err().expect("400"));
        assert_eq!(errors[0], ("email".into(), "is required".into()));
        assert_eq!(errors[2], ("name".into(), "is required".into()));
    }

    #[test]
    fn names_with_control_characters_are_refused() {
        let errors = field_errors(
            request("ann@example.com", "correct horse battery", "Ann\u{0}Lee")
                .validate()
                .err()
                .expect("400"),
        );
        assert_eq!(errors[0].0, "name");
    }

    #[test]
    fn user_serializes_as_the_api_documents() {
        let user = User {
            id: Uuid::nil(),
            email: "ann@example.com".into(),
            name: "Ann".into(),
            role: Role::Student,
        };
        let json = serde_json::to_value(&user).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "id": "00000000-0000-0000-0000-000000000000",
                "email": "ann@example.com",
                "name": "Ann",
                "role": "student"
            })
        );
    }
}

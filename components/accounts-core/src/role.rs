//! What a signed-in user may do.

use serde::{Deserialize, Serialize};

/// Stored as text in `users.role` (checked by the schema) and inside session records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Student,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Student => "student",
            Self::Admin => "admin",
        }
    }

    /// Reads the database column; `None` for a value the schema should have refused.
    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "student" => Some(Self::Student),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_and_json_spellings_agree() {
        for role in [Role::Student, Role::Admin] {
            assert_eq!(Role::from_db(role.as_str()), Some(role));
            let json = serde_json::to_value(role).expect("serializes");
            assert_eq!(json, role.as_str());
        }
        assert_eq!(Role::from_db("root"), None);
    }
}

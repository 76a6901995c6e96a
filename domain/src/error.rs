//! The one error of pure logic: a rule the input breaks. The service layer turns it into
//! its own error (`From<DomainError>`), so callers keep using `?`.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input breaks a rule; `field` names the input that does.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A signature or credential does not check out.
    #[error("{0}")]
    BadSignature(String),
    /// A lifecycle move that the state machine does not allow.
    #[error("cannot move {entity} from {from} to {to}")]
    InvalidTransition { entity: &'static str, from: String, to: String },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

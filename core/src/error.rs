//! The one error type of the service. The server crate turns it into something a client
//! sees in exactly two places: the REST answer (status and JSON body) and the GraphQL
//! error (`extensions.code`, `extensions.field`). Variants name the status they map to.

use alpes_domain::DomainError;
use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the input is wrong; nothing was changed.
    #[error("{message}")]
    Validation { field: Option<String>, message: String },
    /// 400: several inputs are wrong at once, each named with what is wrong with it
    /// (two or more; one is a `Validation`); nothing was changed. Made by [`Problems`].
    #[error("{} inputs are wrong: {}", .0.len(), .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// 401: no credentials, or credentials that are expired, forged or malformed.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: the caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the thing named does not exist (or the caller may not know it does).
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    /// 409: the change collides with existing data (a unique field, a concurrent write).
    #[error("{message}")]
    Conflict { field: Option<String>, message: String },
    /// 422: the request names a campaign, affiliate, … that does not exist.
    #[error("{entity} '{id}' does not exist")]
    UnknownReference { field: String, entity: &'static str, id: String },
    /// 409: a lifecycle move that the state machine does not allow.
    #[error("cannot move {entity} from {from} to {to}")]
    InvalidTransition { entity: &'static str, from: String, to: String },
    /// 429 with Retry-After: too many requests from one client.
    #[error("too many requests; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// 413: the request body is larger than allowed.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 503: the work took longer than allowed (a report over too much data) and was stopped.
    #[error("{0}")]
    Timeout(String),
    /// 503: a dependency (the database) is not reachable.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure; logged, never echoed.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation { field: Some(field.into()), message: message.into() }
    }

    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Self::NotFound { entity, id: id.to_string() }
    }

    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Conflict { field: Some(field.into()), message: message.into() }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }

    /// The stable code a client can branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } | Self::Invalid(_) => "VALIDATION",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::Conflict { .. } => "CONFLICT",
            Self::InvalidTransition { .. } => "INVALID_TRANSITION",
            Self::UnknownReference { .. } => "NOT_FOUND",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::TooManyRequests { .. } => "RATE_LIMITED",
            Self::Timeout(_) => "TIMEOUT",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Validation { field, .. } | Self::Conflict { field, .. } => field.as_deref(),
            Self::UnknownReference { field, .. } => Some(field),
            Self::Invalid(problems) => problems.first().map(|p| p.field.as_str()),
            _ => None,
        }
    }

    /// Every input a validation error names, with what is wrong with it: what a form
    /// shows beside its fields (`errors` in both the REST body and GraphQL extensions).
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            Self::Validation { field: Some(field), message } => {
                vec![Problem { field: field.clone(), message: message.clone() }]
            }
            Self::Invalid(problems) => problems.clone(),
            _ => Vec::new(),
        }
    }

    /// The message a client may see: internal details stay in the log.
    pub fn public_message(&self) -> String {
        if let Self::Internal(err) = self {
            tracing::error!(error = ?err, "internal error");
        }
        self.to_string()
    }

    /// Maps a unique-key violation to a `CONFLICT` naming the field, by the index
    /// that fired (`ux_<table>_<field>`); any other database error stays internal.
    pub fn from_db_unique(err: DbErr, fields: &[&str]) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
            let field = fields
                .iter()
                .find(|field| message.contains(&format!("_{field}")) || message.contains(&format!(".{field}")))
                .map(|field| (*field).to_string());
            let text = match &field {
                Some(field) => format!("{field} is already taken"),
                None => "a unique value is already taken".to_string(),
            };
            return Self::Conflict { field, message: text };
        }
        err.into()
    }
}

impl From<DomainError> for AppError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Invalid { field, message } => Self::Validation { field: Some(field), message },
            DomainError::BadSignature(message) => Self::Unauthenticated(message),
            DomainError::InvalidTransition { entity, from, to } => Self::InvalidTransition { entity, from, to },
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match err {
            // A lock held by another writer past the busy (SQLite) or lock (PostgreSQL) timeout.
            ref busy if is_busy(busy) => {
                tracing::warn!(error = %err, "database busy");
                Self::Unavailable("the database is busy; retry in a moment".into())
            }
            ref full if is_full(full) => {
                tracing::error!(error = %err, "database disk full");
                crate::db::note_disk_full();
                Self::Unavailable("the database's disk is full; retry later".into())
            }
            ref gone if is_unreachable(gone) => {
                tracing::error!(error = %err, "database unavailable");
                Self::Unavailable("the database is not reachable".into())
            }
            DbErr::RecordNotUpdated => Self::Conflict {
                field: None,
                message: "the record was changed by someone else; reload and try again".into(),
            },
            other => Self::Internal(other.into()),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// One wrong input: its field (a dotted path, as the API names it) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

/// The checks of a form's inputs, all of them run so that every wrong field is reported
/// at once rather than the first only. A check that fails for another reason than a
/// field (the database, a permission) is kept too and wins: it is what the caller gets.
///
/// ```ignore
/// let mut problems = Problems::default();
/// let name = problems.check(validate::text(&input.name, "name", 200));
/// let email = problems.check(validate::email(&input.email));
/// let (Some(name), Some(email)) = (name, email) else { return Err(problems.into_error()) };
/// ```
#[derive(Debug, Default)]
pub struct Problems {
    found: Vec<Problem>,
    other: Option<AppError>,
}

impl Problems {
    /// The value of a check that passed, or `None` with its problem kept.
    pub fn check<T, E: Into<AppError>>(&mut self, result: Result<T, E>) -> Option<T> {
        match result.map_err(Into::into) {
            Ok(value) => Some(value),
            Err(AppError::Validation { field: Some(field), message }) => {
                self.found.push(Problem { field, message });
                None
            }
            Err(AppError::Invalid(problems)) => {
                self.found.extend(problems);
                None
            }
            Err(other) => {
                self.other.get_or_insert(other);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty() && self.other.is_none()
    }

    /// `Ok` when every check passed, else the error naming them all.
    pub fn finish(self) -> AppResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.into_error())
        }
    }

    /// The error the checks add up to: a non-field failure first, else one `Validation`
    /// for a single problem, `Invalid` for several.
    pub fn into_error(mut self) -> AppError {
        if let Some(other) = self.other {
            return other;
        }
        match self.found.len() {
            0 => AppError::Validation { field: None, message: "invalid input".into() },
            1 => {
                let Problem { field, message } = self.found.remove(0);
                AppError::Validation { field: Some(field), message }
            }
            _ => AppError::Invalid(self.found),
        }
    }
}

/// The database cannot be reached: no connection to be had, one cut under a statement
/// (the server stopped, restarted or failed over), or the server refusing work while it
/// shuts down or starts. Worth a retry later, not an internal error.
fn is_unreachable(err: &DbErr) -> bool {
    use sea_orm::{sqlx::Error as Sqlx, RuntimeErr};
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => match &**e {
            Sqlx::Io(_)
            | Sqlx::Tls(_)
            | Sqlx::Protocol(_)
            | Sqlx::PoolTimedOut
            | Sqlx::PoolClosed
            | Sqlx::WorkerCrashed => true,
            // connection_exception (08…), admin/crash shutdown and cannot_connect_now (57P0…).
            Sqlx::Database(db) => db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
            _ => false,
        },
        _ => false,
    }
}

/// No space left for the write: SQLite's SQLITE_FULL (13) or a write refused by the
/// system (SQLITE_IOERR_WRITE, 778: a full disk or a file size limit), PostgreSQL's
/// disk_full (53100).
fn is_full(err: &DbErr) -> bool {
    let text = err.to_string();
    ["database or disk is full", "(code: 13)", "(code: 778)", "53100", "No space left on device"]
        .iter()
        .any(|sign| text.contains(sign))
}

/// SQLite's `SQLITE_BUSY` / `SQLITE_LOCKED` (codes 5 and 6), PostgreSQL's `lock_timeout`
/// (55P03): another transaction held a lock longer than we wait.
fn is_busy(err: &DbErr) -> bool {
    let text = err.to_string();
    // PostgreSQL gives up one of two transactions that wait for each other (a deadlock) or
    // that it cannot serialize: nothing of it was written, and the same request again goes through.
    [
        "database is locked",
        "database is busy",
        "(code: 5)",
        "(code: 6)",
        "lock timeout",
        "55P03",
        "deadlock detected",
        "could not serialize access",
    ]
    .iter()
    .any(|sign| text.contains(sign))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::{sqlx, RuntimeErr};

    use super::*;

    fn exec(err: sqlx::Error) -> DbErr {
        DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err)))
    }

    #[test]
    fn a_database_out_of_reach_or_out_of_space_is_unavailable_not_internal() {
        let cut = exec(sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)));
        let full = DbErr::Custom("error returned from database: (code: 13) database or disk is full".into());
        let refused_write = DbErr::Custom("error returned from database: (code: 778) disk I/O error".into());
        for err in [cut, exec(sqlx::Error::PoolTimedOut), exec(sqlx::Error::PoolClosed), full, refused_write] {
            let shown = err.to_string();
            assert!(matches!(AppError::from(err), AppError::Unavailable(_)), "{shown}");
        }
        let other = DbErr::Custom("syntax error".into());
        assert!(matches!(AppError::from(other), AppError::Internal(_)));
    }

    #[test]
    fn a_transaction_postgresql_gave_up_is_busy_not_internal() {
        for text in [
            "error returned from database: deadlock detected",
            "error returned from database: could not serialize access due to concurrent update",
        ] {
            let err = DbErr::Custom(text.into());
            assert!(matches!(AppError::from(err), AppError::Unavailable(_)), "{text}");
        }
    }
}

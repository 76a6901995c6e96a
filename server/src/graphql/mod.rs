//! The GraphQL API: Query/Mutation/Subscription split per resource and merged.

pub mod introspection;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod subscription;
pub mod timing;
pub mod types;

use async_graphql::{Context, Data, ErrorExtensions, Schema};

use crate::{auth::Caller, error::AppError, http::auth::Session, state::AppState};

pub type AlpesSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// The schema with its limits; `state` is shared by every request.
pub fn build_schema(state: Option<AppState>, max_depth: usize, max_complexity: usize) -> AlpesSchema {
    let introspection = state.as_ref().is_none_or(|s| s.config.graphql_introspection);
    let mut builder =
        Schema::build(query::Query::default(), mutation::Mutation::default(), subscription::Subscription::default())
            .limit_depth(max_depth)
            .limit_complexity(max_complexity);
    if !introspection {
        builder = builder.disable_introspection().extension(introspection::NoIntrospection);
    }
    if let Some(state) = state {
        builder = builder.extension(timing::Timing(state.metrics.clone())).data(state);
    }
    builder.finish()
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, usize::MAX, usize::MAX).sdl()
}

/// Set by the first `login` of a request: aliases must not turn one request into many
/// password guesses.
#[derive(Default)]
pub struct LoginTried(pub std::sync::atomic::AtomicBool);

/// The client's IP address, for the sign-in throttle (`None` over WebSockets).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

/// Per-request data: the caller and its token (when signed in), the DataLoaders and the
/// login guard.
pub fn request_data(state: &AppState, caller: Option<Caller>) -> Data {
    let mut data = Data::default();
    data.insert(loaders::RequestLoaders::new(state, caller.as_ref()));
    data.insert(LoginTried::default());
    if let Some(caller) = caller {
        data.insert(caller);
    }
    data
}

/// [`request_data`] of a signed-in session: its token too (for `logout`).
pub fn session_data(state: &AppState, session: Option<Session>) -> Data {
    let Some(session) = session else {
        return request_data(state, None);
    };
    let token = session.token().cloned();
    let mut data = request_data(state, Some(session.caller));
    if let Some(token) = token {
        data.insert(token);
    }
    data
}

pub trait ContextExt {
    fn state(&self) -> &AppState;
    /// The signed-in caller, or UNAUTHENTICATED.
    fn caller(&self) -> Result<&Caller, AppError>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn caller(&self) -> Result<&Caller, AppError> {
        self.data_opt::<Caller>()
            .ok_or_else(|| AppError::Unauthenticated("sign in first: send Authorization: Bearer <token>".into()))
    }
}

/// The GraphQL form of an error: the message a client may see, plus
/// `extensions { code, field }`.
pub fn extend(err: &AppError) -> async_graphql::Error {
    let code = err.code();
    let field = err.field().map(str::to_owned);
    let problems = err.problems();
    let retry_after = match err {
        AppError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
        _ => None,
    };
    async_graphql::Error::new(err.public_message()).extend_with(|_, ext| {
        ext.set("code", code);
        if let Some(field) = field {
            ext.set("field", field);
        }
        if !problems.is_empty() {
            let list: Vec<async_graphql::Value> = problems
                .iter()
                .map(|p| {
                    let mut entry = async_graphql::indexmap::IndexMap::new();
                    entry.insert(async_graphql::Name::new("field"), async_graphql::Value::from(p.field.as_str()));
                    entry.insert(async_graphql::Name::new("message"), async_graphql::Value::from(p.message.as_str()));
                    async_graphql::Value::Object(entry)
                })
                .collect();
            ext.set("errors", list);
        }
        if let Some(secs) = retry_after {
            ext.set("retryAfter", secs);
        }
    })
}

/// A resolver's error. It has no `Display`, so `?` cannot fall back on
/// async-graphql's blanket conversion and drop `extensions.code`: every
/// [`AppError`] goes through [`extend`].
#[derive(Clone)]
pub struct GqlError(async_graphql::Error);

pub type GqlResult<T> = Result<T, GqlError>;

impl From<AppError> for GqlError {
    fn from(err: AppError) -> Self {
        Self(extend(&err))
    }
}

impl From<crate::domain::DomainError> for GqlError {
    fn from(err: crate::domain::DomainError) -> Self {
        AppError::from(err).into()
    }
}

impl From<crate::error::ApiError> for GqlError {
    fn from(err: crate::error::ApiError) -> Self {
        err.0.into()
    }
}

impl From<async_graphql::Error> for GqlError {
    fn from(err: async_graphql::Error) -> Self {
        Self(err)
    }
}

impl From<GqlError> for async_graphql::Error {
    fn from(err: GqlError) -> Self {
        err.0
    }
}

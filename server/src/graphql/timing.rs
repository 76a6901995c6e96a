//! Times every GraphQL query and mutation for `alpes_graphql_operation_duration_seconds`,
//! labelled by its operation name (bounded by [`Metrics`]) and type.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery},
    parser::types::{DocumentOperations, ExecutableDocument, OperationType},
    Response, ServerResult, Variables,
};

use crate::metrics::Metrics;

pub struct Timing(pub Arc<Metrics>);

impl ExtensionFactory for Timing {
    /// One per request: it keeps the parsed operations' types until the operation runs.
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(TimingExtension { metrics: self.0.clone(), types: Default::default() })
    }
}

struct TimingExtension {
    metrics: Arc<Metrics>,
    /// The type of each operation of the document (`None`: the document's only one).
    types: std::sync::Mutex<HashMap<Option<String>, OperationType>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for TimingExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if let Ok(mut types) = self.types.lock() {
            match &document.operations {
                DocumentOperations::Single(operation) => {
                    types.insert(None, operation.node.ty);
                }
                DocumentOperations::Multiple(operations) => {
                    for (name, operation) in operations {
                        types.insert(Some(name.to_string()), operation.node.ty);
                    }
                }
            }
        }
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = std::time::Instant::now();
        let response = next.run(ctx, operation_name).await;
        // A document of one named operation runs it without being told its name.
        let (name, ty) = match self.types.lock() {
            Ok(types) => match (operation_name, types.len()) {
                (Some(name), _) => (Some(name.to_string()), types.get(&Some(name.to_string())).copied()),
                (None, 1) => types.iter().next().map(|(n, t)| (n.clone(), Some(*t))).unwrap_or((None, None)),
                (None, _) => (None, None),
            },
            Err(_) => (operation_name.map(str::to_string), None),
        };
        let kind = match ty {
            Some(OperationType::Query) => "query",
            Some(OperationType::Mutation) => "mutation",
            Some(OperationType::Subscription) => "subscription",
            None => "other",
        };
        self.metrics.observe_operation(name.as_deref(), kind, started.elapsed());
        response
    }
}

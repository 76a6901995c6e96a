//! With introspection turned off (`ALPES_GRAPHQL_INTROSPECTION=false`), a query that asks
//! for `__schema` or `__type` is refused with a clear `VALIDATION` error rather than
//! answered with nulls. `__typename` stays: clients need it.

use std::{collections::HashSet, sync::Arc};

use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
    Name, ServerError, ServerResult, Variables,
};

pub struct NoIntrospection;

impl ExtensionFactory for NoIntrospection {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(NoIntrospectionExtension)
    }
}

struct NoIntrospectionExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for NoIntrospectionExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        for (_, operation) in document.operations.iter() {
            let mut seen = HashSet::new();
            if asks_introspection(&document, &operation.node.selection_set.node, &mut seen) {
                let mut error = ServerError::new("introspection is turned off on this server", None);
                let mut extensions = async_graphql::ErrorExtensionValues::default();
                extensions.set("code", "VALIDATION");
                error.extensions = Some(extensions);
                return Err(error);
            }
        }
        Ok(document)
    }
}

/// Does this root selection (through its fragments) select `__schema` or `__type`?
fn asks_introspection<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    seen: &mut HashSet<&'a Name>,
) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => matches!(field.node.name.node.as_str(), "__schema" | "__type"),
        Selection::InlineFragment(fragment) => asks_introspection(document, &fragment.node.selection_set.node, seen),
        Selection::FragmentSpread(spread) => {
            let name = &spread.node.fragment_name.node;
            seen.insert(name)
                && document
                    .fragments
                    .get(name)
                    .is_some_and(|fragment| asks_introspection(document, &fragment.node.selection_set.node, seen))
        }
    })
}

/// How deep an introspection-only request may nest: the standard introspection query
/// (GraphiQL's, graphql-js's `getIntrospectionQuery`) nests 13 levels, past the limit of
/// ordinary operations.
pub const INTROSPECTION_MAX_DEPTH: usize = 20;

/// Does every operation of `query` select only `__schema`, `__type` and `__typename` at
/// its root (through fragments too)? Such a request reads the schema, never data, and
/// runs with [`INTROSPECTION_MAX_DEPTH`].
pub fn only_introspection(query: &str) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(query) else { return false };
    let mut seen = HashSet::new();
    let operations: Vec<_> = document.operations.iter().collect();
    !operations.is_empty()
        && operations.iter().all(|(_, operation)| only_meta(&document, &operation.node.selection_set.node, &mut seen))
}

fn only_meta<'a>(document: &'a ExecutableDocument, set: &'a SelectionSet, seen: &mut HashSet<&'a Name>) -> bool {
    set.items.iter().all(|item| match &item.node {
        Selection::Field(field) => matches!(field.node.name.node.as_str(), "__schema" | "__type" | "__typename"),
        Selection::InlineFragment(fragment) => only_meta(document, &fragment.node.selection_set.node, seen),
        Selection::FragmentSpread(spread) => {
            let name = &spread.node.fragment_name.node;
            // A fragment met again was judged already (or is being judged) on its own.
            !seen.insert(name)
                || document
                    .fragments
                    .get(name)
                    .is_some_and(|fragment| only_meta(document, &fragment.node.selection_set.node, seen))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_schema_reads_count_as_introspection() {
        assert!(only_introspection("{ __schema { types { name } } }"));
        assert!(only_introspection(
            "query Q { __typename ...F } fragment F on Query { __type(name: \"Query\") { name } }"
        ));
        assert!(!only_introspection("{ __schema { types { name } } campaigns { totalCount } }"));
        assert!(!only_introspection("query A { __typename } query B { campaigns { totalCount } }"));
        assert!(!only_introspection("{ ...F } fragment F on Query { campaigns { totalCount } }"));
        assert!(!only_introspection("not graphql {"));
        assert!(!only_introspection(""));
    }
}

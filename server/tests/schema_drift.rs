//! `schema.graphql` is the contract: it must equal what the code serves.

#[test]
fn schema_graphql_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    let served = alpes::graphql::sdl();
    assert!(
        checked_in == served,
        "schema.graphql is out of date with the code. Regenerate it with:\n\n    cargo run -- export-schema --output schema.graphql\n"
    );
}

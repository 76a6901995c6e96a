//! Use cases, one module per resource. Each public function checks the caller's
//! rights, owns its transaction, and writes its outbox events and audit rows inside it.

pub mod affiliate_service;
pub mod audit;
pub mod campaign_service;
pub mod outbox;
pub mod tracking_link_service;
pub mod tracking_service;
pub mod user_service;

/// A window of a list: `offset` rows skipped, at most `limit` returned.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub offset: u64,
    pub limit: u64,
}

/// One window of a list, and how many rows the whole list has.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// `ILIKE`-style pattern for a search box: `%term%`, with LIKE wildcards escaped away.
pub(crate) fn like_pattern(term: &str) -> String {
    let cleaned: String = term
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| *c != '%' && *c != '_' && *c != '\\')
        .collect();
    format!("%{cleaned}%")
}

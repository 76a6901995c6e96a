//! Relay connections (`edges { node cursor }`, `pageInfo`, `totalCount`) over offset windows.

use async_graphql::{
    connection::{Connection, Edge},
    OutputType, SimpleObject,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

use crate::{
    error::AppError,
    service::{Page, PageRequest},
};
use alpes_core::error::AppResult;

pub const DEFAULT_PAGE: i32 = 20;
pub const MAX_PAGE: i32 = 100;

#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ConnectionTotals {
    /// How many items the whole list has, across all pages.
    pub total_count: u64,
}

pub type ListConnection<N> = Connection<String, N, ConnectionTotals>;

/// The window asked for by `first` / `after`.
pub fn page_request(first: Option<i32>, after: Option<String>) -> AppResult<PageRequest> {
    let limit = first.unwrap_or(DEFAULT_PAGE);
    if !(0..=MAX_PAGE).contains(&limit) {
        return Err(AppError::validation("first", format!("first must be between 0 and {MAX_PAGE}")));
    }
    let offset = match after {
        None => 0,
        Some(cursor) => {
            decode_cursor(&cursor)?.checked_add(1).ok_or_else(|| AppError::validation("after", "invalid cursor"))?
        }
    };
    if offset > PageRequest::MAX_OFFSET {
        return Err(AppError::validation(
            "after",
            format!(
                "a page starts at most {} items in; narrow the list with its filters instead",
                PageRequest::MAX_OFFSET
            ),
        ));
    }
    Ok(PageRequest { offset, limit: limit as u64 })
}

/// Builds the connection for one page, mapping rows to GraphQL nodes.
pub fn connection<T, N: OutputType>(request: PageRequest, page: Page<T>, node: impl Fn(T) -> N) -> ListConnection<N> {
    let count = page.items.len() as u64;
    let has_next = request.offset + count < page.total;
    let mut conn =
        Connection::with_additional_fields(request.offset > 0, has_next, ConnectionTotals { total_count: page.total });
    conn.edges.extend(
        page.items
            .into_iter()
            .enumerate()
            .map(|(i, item)| Edge::new(encode_cursor(request.offset + i as u64), node(item))),
    );
    conn
}

fn encode_cursor(offset: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode_cursor(cursor: &str) -> AppResult<u64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("o:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| AppError::validation("after", "invalid cursor"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(41)).ok(), Some(41));
        assert!(decode_cursor("nope").is_err());
        let req = page_request(Some(10), Some(encode_cursor(9))).ok();
        assert_eq!(req.map(|r| (r.offset, r.limit)), Some((10, 10)));
        assert!(page_request(Some(101), None).is_err());
        let deepest = PageRequest::MAX_OFFSET;
        assert_eq!(page_request(Some(20), Some(encode_cursor(deepest - 1))).ok().map(|r| r.offset), Some(deepest));
        assert!(page_request(Some(20), Some(encode_cursor(deepest))).is_err());
        assert!(page_request(Some(-1), None).is_err());
        // The largest offset has no next one: refused, not an overflow.
        assert!(page_request(Some(1), Some(encode_cursor(u64::MAX))).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 5_000, ..Default::default() })]

        /// Any `after` is a page or a VALIDATION error, never a panic; every cursor this
        /// service gave reads back as its offset, the last one included.
        #[test]
        fn any_cursor_is_a_page_or_refused(cursor in ".{0,64}", offset in proptest::prelude::any::<u64>(), first in proptest::prelude::any::<i32>()) {
            let _ = page_request(Some(first), Some(cursor));
            proptest::prop_assert_eq!(decode_cursor(&encode_cursor(offset)).ok(), Some(offset));
            let _ = page_request(Some(first), Some(encode_cursor(offset)));
        }
    }
}

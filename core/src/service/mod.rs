//! Use cases, one module per resource. Each public function checks the caller's
//! rights, owns its transaction, and writes its outbox events and audit rows inside it.

pub mod affiliate_service;
pub mod api_key_service;
pub mod attribution;
pub mod audit;
pub mod campaign_service;
pub mod codes;
pub mod commission;
pub mod coupon_service;
pub mod dashboard_service;
pub mod delivery_worker;
pub mod import;
pub mod integration_service;
pub mod onboarding;
pub mod outbox;
pub mod reconciliation;
pub mod retention;
pub mod rollup;
pub mod scrape;
pub mod seed_service;
pub mod stripe_service;
pub mod subscription_service;
pub mod tier_service;
pub mod tracking;
pub mod tracking_link_service;
pub mod user_service;

/// A window of a list: `offset` rows skipped, at most `limit` returned.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub offset: u64,
    pub limit: u64,
}

impl PageRequest {
    /// The deepest window a list serves. A list is read newest first along an index, and
    /// rows before a window are walked past one by one: past this many, a client narrows
    /// the list with its filters (a period, a status) instead.
    pub const MAX_OFFSET: u64 = 1_000_000;
}

/// One window of a list, and how many rows the whole list has.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl<T> Page<T> {
    /// The same window with each item turned into `U` (a record into its view).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total }
    }
}

/// `ILIKE`-style pattern for a search box: `%term%`, with LIKE wildcards escaped away.
pub(crate) fn like_pattern(term: &str) -> String {
    let cleaned: String = term.trim().to_lowercase().chars().filter(|c| *c != '%' && *c != '_' && *c != '\\').collect();
    format!("%{cleaned}%")
}

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::{
    domain::code,
    error::{AppError, AppResult},
};

/// Is `value` already in `column` of `E`, on a row other than `except`?
pub(crate) async fn taken<E: EntityTrait, C: ConnectionTrait>(
    conn: &C,
    column: E::Column,
    id_column: E::Column,
    value: &str,
    except: Option<Uuid>,
) -> AppResult<bool>
where
    E::Model: Sync,
{
    let mut query = E::find().filter(column.eq(value));
    if let Some(id) = except {
        query = query.filter(id_column.ne(id));
    }
    Ok(query.count(conn).await? > 0)
}

/// A free code for `E`: the slug of `name`, or the slug with a short random suffix.
pub(crate) async fn free_code<E: EntityTrait, C: ConnectionTrait>(
    conn: &C,
    code_column: E::Column,
    id_column: E::Column,
    name: &str,
) -> AppResult<String>
where
    E::Model: Sync,
{
    let base = code::slugify(name);
    let mut candidate = base.clone();
    for _ in 0..8 {
        if !taken::<E, C>(conn, code_column, id_column, &candidate, None).await? {
            return Ok(candidate);
        }
        candidate = format!("{base}-{}", code::random_short(4));
    }
    Err(crate::error::AppError::conflict("code", "could not generate a free code; give one"))
}

/// Inserts many rows in few statements of fixed shapes: chunks of 16, 8, 4, 2 and 1
/// rows, with the SQL written here from the rows' set columns (no query-builder pass over
/// every value). The drivers cache prepared statements by their text, so a handful of
/// shapes are prepared once and reused, where one statement per batch size would be
/// prepared again and again. Chunks also keep each statement well under 64 KiB: a larger
/// message leaves a small TCP tail that Nagle holds until the server's delayed ACK,
/// 40 ms per statement (the PostgreSQL driver does not set TCP_NODELAY).
///
/// Every row must set the same columns as the first.
pub(crate) async fn insert_in_chunks<A, C>(conn: &C, rows: Vec<A>) -> AppResult<()>
where
    A: ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    use sea_orm::{EntityName, IdenStatic, Iterable};
    use std::fmt::Write;

    let Some(first) = rows.first() else { return Ok(()) };
    let backend = conn.get_database_backend();
    let columns: Vec<_> =
        <A::Entity as EntityTrait>::Column::iter().filter(|column| !first.get(*column).is_not_set()).collect();
    let head = format!(
        "INSERT INTO \"{}\" ({}) VALUES ",
        A::Entity::default().table_name(),
        columns.iter().map(|c| format!("\"{}\"", c.as_str())).collect::<Vec<_>>().join(", ")
    );
    let mut left = rows.len();
    let mut rows = rows.into_iter();
    while left > 0 {
        let size = [16, 8, 4, 2, 1].into_iter().find(|s| *s <= left).unwrap_or(1);
        let mut sql = String::with_capacity(head.len() + size * columns.len() * 5);
        sql.push_str(&head);
        let mut values = Vec::with_capacity(size * columns.len());
        for (r, mut row) in rows.by_ref().take(size).enumerate() {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for (c, column) in columns.iter().enumerate() {
                let value = row.take(*column).into_value().ok_or_else(|| {
                    AppError::internal(anyhow::anyhow!("bulk insert: column {} not set in every row", column.as_str()))
                })?;
                values.push(value);
                if c > 0 {
                    sql.push_str(", ");
                }
                match backend {
                    sea_orm::DbBackend::Postgres => {
                        let _ = write!(sql, "${}", values.len());
                    }
                    _ => sql.push('?'),
                }
            }
            sql.push(')');
        }
        left -= size;
        conn.execute_raw(sea_orm::Statement::from_sql_and_values(backend, sql, values)).await?;
    }
    Ok(())
}

/// One page of `query`, newest first by (`first`, `second`), and the total count.
pub(crate) async fn newest_first<E, C>(
    conn: &C,
    query: Select<E>,
    first: E::Column,
    second: E::Column,
    page: PageRequest,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: ConnectionTrait,
{
    newest_first_counted(conn, query, first, second, page, None).await
}

/// [`newest_first`], with the list's size when known already (from a rollup), ordered by
/// any two columns of the query (those of a joined table whose index gives the order).
pub(crate) async fn newest_first_counted<E, C, O>(
    conn: &C,
    query: Select<E>,
    first: O,
    second: O,
    page: PageRequest,
    total: Option<u64>,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: ConnectionTrait,
    O: sea_orm::IntoSimpleExpr,
{
    // The count and the page are independent: on a pool they run side by side, so a
    // page costs the slower of the two rather than their sum.
    let counted = query.clone();
    let count = async move {
        match total {
            Some(n) => Ok(n),
            None => counted.count(conn).await,
        }
    };
    let items = query.order_by_desc(first).order_by_desc(second).offset(page.offset).limit(page.limit).all(conn);
    let (total, items) = tokio::try_join!(count, items)?;
    Ok(Page { items, total })
}

/// How far a long job has come, for whoever runs it (the command line draws a progress
/// bar; the API reports nothing until the end).
pub trait Progress: Send + Sync {
    /// A new stage of `total` steps.
    fn stage(&self, name: &'static str, total: u64);
    /// `steps` more of the current stage are done.
    fn advance(&self, steps: u64);
}

/// Reports nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn stage(&self, _: &'static str, _: u64) {}
    fn advance(&self, _: u64) {}
}

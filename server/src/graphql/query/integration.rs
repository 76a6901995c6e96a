use async_graphql::{Context, Object};

use crate::{
    graphql::{
        types::{
            connection::{connection, page_request, ListConnection},
            integration::{IntegrationDelivery, IntegrationDeliveryFilter, IntegrationLogEntry, IntegrationLogFilter},
            parse_id,
        },
        ContextExt, GqlResult,
    },
    service::integration_service::{self, DeliveryFilter, LogFilter},
};

#[derive(Default)]
pub struct IntegrationQuery;

#[Object]
impl IntegrationQuery {
    /// Outbound deliveries (Meta CAPI, Google Ads, Pipedrive), newest first (ADMIN, ANALYST).
    async fn integration_deliveries(
        &self,
        ctx: &Context<'_>,
        filter: Option<IntegrationDeliveryFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<IntegrationDelivery>> {
        let caller = ctx.caller()?;
        let request = page_request(first, after)?;
        let f = filter.unwrap_or_default();
        let filter = DeliveryFilter {
            integration: f.integration.map(Into::into),
            status: f.status.map(Into::into),
            order_id: f.order_id.as_ref().map(|id| parse_id(id, "filter.orderId")).transpose()?,
        };
        let page = integration_service::list_deliveries(&ctx.state().db, caller, filter, request).await?;
        Ok(connection(request, page, IntegrationDelivery))
    }

    /// Every attempt to reach a platform, newest first (ADMIN, ANALYST).
    async fn integration_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<IntegrationLogFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<IntegrationLogEntry>> {
        let caller = ctx.caller()?;
        let request = page_request(first, after)?;
        let f = filter.unwrap_or_default();
        let filter = LogFilter {
            integration: f.integration.map(Into::into),
            reference_id: f.reference_id,
            delivery_id: f.delivery_id.as_ref().map(|id| parse_id(id, "filter.deliveryId")).transpose()?,
            status: f.status,
        };
        let page = integration_service::list_log(&ctx.state().db, caller, filter, request).await?;
        Ok(connection(request, page, IntegrationLogEntry))
    }
}

//! The seeds' names of our states and kinds (`activo`, `reservada`, `PURCHASE`, …), for the
//! events and answers that carry them.

use entity::{
    affiliates::{AffiliateStatus, AffiliateTier},
    campaigns::CampaignStatus,
    commissions::{CommissionStatus, CommissionType},
    conversions::{ConversionStatus, ConversionType},
    orders::OrderStatus,
};

use crate::model::commissions::lifecycle_status;

pub fn affiliate_tier(tier: AffiliateTier) -> &'static str {
    match tier {
        AffiliateTier::Standard => "estandar",
        AffiliateTier::Premium => "premium",
    }
}

pub fn affiliate_status(status: AffiliateStatus) -> &'static str {
    match status {
        AffiliateStatus::Active => "activo",
        AffiliateStatus::Suspended => "suspendido",
        AffiliateStatus::Deleted => "eliminado",
        AffiliateStatus::Applied => "solicitado",
        AffiliateStatus::Rejected => "rechazado",
    }
}

/// The seed's name of a campaign state.
pub fn campaign_status(status: CampaignStatus) -> &'static str {
    match status {
        CampaignStatus::Draft => "borrador",
        CampaignStatus::Active => "activa",
        CampaignStatus::Paused => "pausada",
        CampaignStatus::Ended => "finalizada",
    }
}

/// The seed's `tipo_comision`.
pub fn commission_kind(kind: CommissionType) -> &'static str {
    match kind {
        CommissionType::Percentage => "porcentual",
        CommissionType::Flat => "fijo",
    }
}

/// The seed's `estado`.
pub fn commission_status(status: CommissionStatus) -> &'static str {
    lifecycle_status(status).seed_name()
}

pub fn conversion_status(status: ConversionStatus) -> &'static str {
    match status {
        ConversionStatus::Registered => "registrada",
        ConversionStatus::Attributed => "atribuida",
        ConversionStatus::Unattributed => "sin_atribuir",
        ConversionStatus::HeldForReview => "en_revision",
        ConversionStatus::Reverted => "revertida",
        ConversionStatus::Refunded => "reembolsada",
        ConversionStatus::Rejected => "rechazada",
    }
}

/// The seed's name of an order state.
pub fn order_status(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "pendiente",
        OrderStatus::Paid => "pagado",
        OrderStatus::PartiallyRefunded => "reembolsado_parcial",
        OrderStatus::Refunded => "reembolsado",
        OrderStatus::Expired => "expirado",
        OrderStatus::Failed => "fallido",
    }
}

/// The seed's `tipo_conversion` of attribution events.
pub fn attributed_conversion_type(kind: ConversionType) -> &'static str {
    match kind {
        ConversionType::Sale => "PURCHASE",
        ConversionType::Lead => "LEAD",
        ConversionType::Signup => "SIGNUP",
        ConversionType::Other => "OTHER",
    }
}

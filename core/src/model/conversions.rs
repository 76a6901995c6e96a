//! Conversions, and the domain's kind of a stored conversion type.

use alpes_domain::tracking::ConversionKind;
pub use entity::conversions::{ConversionStatus, ConversionType, Model};

pub fn conversion_kind(kind: ConversionType) -> ConversionKind {
    match kind {
        ConversionType::Sale => ConversionKind::Sale,
        ConversionType::Lead => ConversionKind::Lead,
        ConversionType::Signup => ConversionKind::Signup,
        ConversionType::Other => ConversionKind::Other,
    }
}

//! Touches, and the domain's kind of a stored interaction kind.

use alpes_domain::tracking::TouchKind;
pub use entity::interactions::{InteractionKind, Model};

pub fn touch_kind(kind: InteractionKind) -> TouchKind {
    match kind {
        InteractionKind::Impression => TouchKind::Impression,
        InteractionKind::Click => TouchKind::Click,
        InteractionKind::View => TouchKind::View,
        InteractionKind::Lead => TouchKind::Lead,
        InteractionKind::Purchase => TouchKind::Purchase,
        InteractionKind::Conversion => TouchKind::Conversion,
    }
}

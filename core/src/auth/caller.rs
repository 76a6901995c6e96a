//! The authenticated caller and the permission checks every service applies.

use uuid::Uuid;

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Runs the programme: reads and changes everything.
    Admin,
    /// Reads everything, changes nothing.
    Analyst,
    /// A partner: reads and acts on its own affiliate's data only.
    Affiliate,
}

impl Role {
    pub fn parse(value: &str) -> Option<Role> {
        match value.trim().to_ascii_uppercase().as_str() {
            "ADMIN" => Some(Role::Admin),
            "ANALYST" => Some(Role::Analyst),
            "AFFILIATE" => Some(Role::Affiliate),
            _ => None,
        }
    }
}

impl From<entity::users::UserRole> for Role {
    fn from(role: entity::users::UserRole) -> Self {
        match role {
            entity::users::UserRole::Admin => Role::Admin,
            entity::users::UserRole::Analyst => Role::Analyst,
            entity::users::UserRole::Affiliate => Role::Affiliate,
        }
    }
}

impl From<Role> for entity::users::UserRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => entity::users::UserRole::Admin,
            Role::Analyst => entity::users::UserRole::Analyst,
            Role::Affiliate => entity::users::UserRole::Affiliate,
        }
    }
}

/// A verified caller. Services take one and decide what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user behind the token; `None` for tokens minted by `alpes token`.
    pub user_id: Option<Uuid>,
    pub role: Role,
    /// Set for AFFILIATE callers: the only affiliate whose data they see.
    pub affiliate_id: Option<Uuid>,
    /// Set when the caller is an API key rather than a person.
    pub key: Option<KeyGrant>,
}

/// What an API key is, beyond its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyGrant {
    pub id: Uuid,
    /// The key may record conversions (the shop's server).
    pub records_conversions: bool,
}

impl Caller {
    /// A caller with full rights, for the CLI and internal jobs.
    pub fn system() -> Self {
        Self { user_id: None, role: Role::Admin, affiliate_id: None, key: None }
    }

    /// A person's (or a CLI token's) caller.
    pub fn person(user_id: Option<Uuid>, role: Role, affiliate_id: Option<Uuid>) -> Self {
        Self { user_id, role, affiliate_id, key: None }
    }

    /// Recording a conversion creates commissions: it is for ADMIN users and for API keys
    /// given that scope (the shop's server), never for affiliates.
    pub fn require_conversion_recorder(&self) -> Result<(), AppError> {
        match (self.role, self.key) {
            (Role::Affiliate, _) => Err(AppError::Forbidden(
                "affiliates cannot record conversions; the shop's server records them with an API key".into(),
            )),
            (_, Some(key)) if key.records_conversions => Ok(()),
            (_, Some(_)) => Err(AppError::Forbidden("this API key may not record conversions".into())),
            (Role::Admin, None) => Ok(()),
            (Role::Analyst, None) => Err(AppError::Forbidden("analysts have read-only access".into())),
        }
    }

    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Analyst)
    }

    /// Changes to the programme are for admins.
    pub fn require_admin(&self) -> Result<(), AppError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Analyst => Err(AppError::Forbidden("analysts have read-only access".into())),
            Role::Affiliate => Err(AppError::Forbidden("this action is for administrators".into())),
        }
    }

    /// Reads of programme-wide data (all affiliates, audit) are for staff.
    pub fn require_staff(&self) -> Result<(), AppError> {
        if self.is_staff() {
            Ok(())
        } else {
            Err(AppError::Forbidden("this data is for administrators and analysts".into()))
        }
    }

    /// `None`: sees every affiliate. `Some(id)`: sees only that one.
    pub fn affiliate_scope(&self) -> Option<Uuid> {
        match self.role {
            Role::Affiliate => Some(self.affiliate_id.unwrap_or(Uuid::nil())),
            _ => None,
        }
    }

    /// May this caller read data of the given affiliate?
    pub fn require_affiliate_access(&self, affiliate_id: Uuid) -> Result<(), AppError> {
        match self.affiliate_scope() {
            None => Ok(()),
            Some(own) if own == affiliate_id => Ok(()),
            Some(_) => Err(AppError::Forbidden("affiliates can only see their own data".into())),
        }
    }

    /// May this caller act (write) on behalf of the given affiliate?
    pub fn require_affiliate_write(&self, affiliate_id: Uuid) -> Result<(), AppError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Analyst => Err(AppError::Forbidden("analysts have read-only access".into())),
            Role::Affiliate => self.require_affiliate_access(affiliate_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_scopes() {
        let own = Uuid::new_v4();
        let other = Uuid::new_v4();
        let affiliate = Caller::person(None, Role::Affiliate, Some(own));
        let analyst = Caller::person(None, Role::Analyst, None);
        let admin = Caller::system();

        assert!(admin.require_admin().is_ok());
        assert!(analyst.require_admin().is_err());
        assert!(affiliate.require_admin().is_err());
        assert!(analyst.require_staff().is_ok());
        assert!(affiliate.require_staff().is_err());

        assert!(affiliate.require_affiliate_access(own).is_ok());
        assert!(affiliate.require_affiliate_access(other).is_err());
        assert!(analyst.require_affiliate_access(other).is_ok());
        assert!(analyst.require_affiliate_write(other).is_err());
        assert!(affiliate.require_affiliate_write(own).is_ok());

        let orphan = Caller::person(None, Role::Affiliate, None);
        assert!(orphan.require_affiliate_access(own).is_err());
    }

    #[test]
    fn only_admins_and_keys_with_the_scope_record_conversions() {
        let grant = |records_conversions| Some(KeyGrant { id: Uuid::nil(), records_conversions });
        let keyed = |role, records| Caller { key: grant(records), ..Caller::person(None, role, None) };
        assert!(Caller::system().require_conversion_recorder().is_ok());
        assert!(Caller::person(None, Role::Analyst, None).require_conversion_recorder().is_err());
        assert!(Caller::person(None, Role::Affiliate, Some(Uuid::nil())).require_conversion_recorder().is_err());
        assert!(keyed(Role::Analyst, true).require_conversion_recorder().is_ok());
        assert!(keyed(Role::Admin, true).require_conversion_recorder().is_ok());
        assert!(keyed(Role::Admin, false).require_conversion_recorder().is_err());
        assert!(keyed(Role::Affiliate, true).require_conversion_recorder().is_err());
    }

    #[test]
    fn role_names() {
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("AFFILIATE"), Some(Role::Affiliate));
        assert_eq!(Role::parse("root"), None);
    }
}

//! JWT (HS256) issue and verification.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Caller, Role};
use crate::error::AppError;

const ISSUER: &str = "alpes";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user id, or `cli` for tokens minted by `alpes token`.
    sub: String,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    affiliate_id: Option<Uuid>,
    iss: String,
    iat: i64,
    exp: i64,
    /// The token's own id, so that `logout` can revoke this one token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<Uuid>,
}

/// A token whose signature, expiry and issuer hold. Whether its session is still open
/// (user active, not signed out) is for [`super::Sessions`] to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The caller as the token names it; the session check refreshes role and affiliate.
    pub caller: Caller,
    pub id: Option<Uuid>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The signing keys, made once from the secret.
#[derive(Clone)]
pub struct JwtKeys {
    // Shared: the state, keys included, is cloned for every request.
    encoding: std::sync::Arc<EncodingKey>,
    decoding: std::sync::Arc<DecodingKey>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(..)")
    }
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            encoding: std::sync::Arc::new(EncodingKey::from_secret(secret)),
            decoding: std::sync::Arc::new(DecodingKey::from_secret(secret)),
        }
    }

    /// The configured secret, or the one kept in `data_dir/jwt_secret` (made on first use),
    /// so that tokens survive restarts.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        let secret = match configured {
            Some(secret) => secret.to_string(),
            None => crate::config::kept_secret(data_dir, "jwt_secret")?,
        };
        Ok(Self::from_secret(secret.as_bytes()))
    }

    /// Issues a token for `caller`, valid for `ttl`.
    pub fn issue(&self, caller: &Caller, ttl: Duration) -> Result<(String, DateTime<Utc>), AppError> {
        let now = Utc::now();
        let expires_at = now + ttl;
        let claims = Claims {
            sub: caller.user_id.map_or_else(|| "cli".to_string(), |id| id.to_string()),
            role: caller.role,
            affiliate_id: caller.affiliate_id,
            iss: ISSUER.into(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Some(Uuid::new_v4()),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(AppError::internal)?;
        Ok((token, expires_at))
    }

    /// Verifies signature (HS256 only: `none` and other algorithms are refused), expiry and issuer.
    pub fn verify(&self, token: &str) -> Result<Token, AppError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = decode::<Claims>(token, &self.decoding, &validation).map_err(|err| {
            use jsonwebtoken::errors::ErrorKind;
            let why = match err.kind() {
                ErrorKind::ExpiredSignature => "token expired",
                ErrorKind::InvalidSignature => "token signature is invalid",
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => "token algorithm is not accepted",
                _ => "token is malformed",
            };
            AppError::Unauthenticated(why.into())
        })?;
        let claims = data.claims;
        let user_id = match claims.sub.as_str() {
            "cli" => None,
            sub => Some(Uuid::parse_str(sub).map_err(|_| AppError::Unauthenticated("token is malformed".into()))?),
        };
        if claims.role == Role::Affiliate && claims.affiliate_id.is_none() {
            return Err(AppError::Unauthenticated("affiliate token without affiliate".into()));
        }
        let at = |secs: i64| {
            DateTime::from_timestamp(secs, 0).ok_or_else(|| AppError::Unauthenticated("token is malformed".into()))
        };
        Ok(Token {
            caller: Caller::person(user_id, claims.role, claims.affiliate_id),
            id: claims.jti,
            issued_at: at(claims.iat)?,
            expires_at: at(claims.exp)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn keys() -> JwtKeys {
        JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef")
    }

    fn affiliate() -> Caller {
        Caller::person(Some(Uuid::new_v4()), Role::Affiliate, Some(Uuid::new_v4()))
    }

    #[test]
    fn round_trip() {
        let caller = affiliate();
        let (token, _) = keys().issue(&caller, Duration::hours(1)).unwrap_or_default();
        let verified = keys().verify(&token).ok();
        assert_eq!(verified.as_ref().map(|t| &t.caller), Some(&caller));
        assert!(verified.as_ref().is_some_and(|t| t.id.is_some() && t.expires_at > t.issued_at));
        let (again, _) = keys().issue(&caller, Duration::hours(1)).unwrap_or_default();
        assert_ne!(keys().verify(&again).ok().and_then(|t| t.id), verified.and_then(|t| t.id), "one id a token");
    }

    #[test]
    fn rejects_bad_tokens() {
        let caller = affiliate();
        let expired = keys().issue(&caller, Duration::hours(-1)).map(|t| t.0).unwrap_or_default();
        let other = JwtKeys::from_secret(b"another-secret-another-secret-xx");
        let wrong_key = other.issue(&caller, Duration::hours(1)).map(|t| t.0).unwrap_or_default();

        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = b64.encode(
            serde_json::json!({"sub":"cli","role":"ADMIN","iss":"alpes","iat":0,"exp":9999999999i64}).to_string(),
        );
        let alg_none = format!("{}.{}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#), payload);
        let (good, _) = keys().issue(&caller, Duration::hours(1)).unwrap_or_default();
        let mut parts: Vec<&str> = good.split('.').collect();
        parts[1] = &payload;
        let forged = parts.join(".");

        for (name, token) in [
            ("expired", expired),
            ("wrong key", wrong_key),
            ("alg none", alg_none),
            ("forged", forged),
            ("garbage", "x.y.z".into()),
        ] {
            let err = keys().verify(&token).err();
            assert_eq!(err.as_ref().map(AppError::code), Some("UNAUTHENTICATED"), "{name}");
        }
    }
}

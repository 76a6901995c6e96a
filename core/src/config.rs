//! One typed configuration, read from flags and environment, validated at start.

use std::{net::SocketAddr, path::PathBuf};

use clap::Args;

use crate::error::AppError;

/// Settings shared by every subcommand. Each one can come from a flag or from the
/// environment variable named beside it. Its `Debug` leaves secrets out.
#[derive(Clone, Args)]
pub struct Config {
    /// Database URL: `sqlite://path?mode=rwc` or `postgres://…`. Default: SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Directory for the embedded database and the generated JWT secret.
    #[arg(long, env = "ALPES_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Address the HTTP server listens on.
    #[arg(long, env = "ALPES_ADDR", default_value = "127.0.0.1:8000", global = true)]
    pub addr: SocketAddr,

    /// Secret for signing JWTs (HS256, at least 32 characters). Generated and kept in the data directory when unset.
    #[arg(long, env = "ALPES_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// Email of the admin created on first start.
    #[arg(long, env = "ALPES_ADMIN_EMAIL", global = true)]
    pub admin_email: Option<String>,

    /// Password of the admin created on first start (a random one is printed once when unset).
    #[arg(long, env = "ALPES_ADMIN_PASSWORD", hide_env_values = true, global = true)]
    pub admin_password: Option<String>,

    /// Salt for hashing IP addresses (raw IPs are never stored).
    #[arg(long, env = "ALPES_IP_HASH_SALT", hide_env_values = true, global = true)]
    pub ip_hash_salt: Option<String>,

    /// Public base URL of this service, used in tracking links (`{url}/r/{code}`). Default: `http://{addr}`.
    #[arg(long, env = "ALPES_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Stripe webhook signing secret(s) (`whsec_…`); several, comma-separated, during a rotation.
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true, global = true)]
    pub stripe_webhook_secret: Option<String>,

    /// Tracking requests accepted per second from one IP (bursts of twice that); 0 turns the limit off.
    #[arg(long, env = "ALPES_INGEST_RATE_LIMIT_PER_IP", default_value_t = 200, global = true)]
    pub ingest_rate_limit_per_ip: u32,

    /// Take the client IP from the last `X-Forwarded-For` hop, the one your proxy added
    /// (only behind a proxy you run; earlier hops are the client's to invent).
    #[arg(long, env = "ALPES_TRUST_FORWARDED_FOR", default_value_t = false, global = true)]
    pub trust_forwarded_for: bool,

    /// Maximum GraphQL query depth.
    #[arg(long, env = "ALPES_GRAPHQL_MAX_DEPTH", default_value_t = 12, global = true)]
    pub graphql_max_depth: usize,

    /// Maximum GraphQL query complexity.
    #[arg(long, env = "ALPES_GRAPHQL_MAX_COMPLEXITY", default_value_t = 2000, global = true)]
    pub graphql_max_complexity: usize,

    /// Answer GraphQL introspection (`__schema`, `__type`): tools and GraphiQL need it;
    /// production may turn it off (`false`) so the API is not mapped for strangers.
    #[arg(long, env = "ALPES_GRAPHQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub graphql_introspection: bool,

    /// Serve GraphiQL at `GET /graphql` (`false`: 404).
    #[arg(long, env = "ALPES_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub graphiql: bool,

    /// Refuse tracking events (impressions, clicks, interactions, conversions) older than
    /// this many days. Unset (the default): history is accepted, so past events can be
    /// backfilled at their own times; events in the future are always refused.
    #[arg(long, env = "ALPES_MAX_EVENT_AGE_DAYS", global = true)]
    pub max_event_age_days: Option<u32>,

    /// The programme's own currency (ISO 4217): what the dashboard shows first. Sales and
    /// commissions in other currencies are kept and shown as themselves, never converted.
    #[arg(long, env = "ALPES_CURRENCY", default_value = "USD", global = true)]
    pub currency: String,

    /// Accept conversions without a key on the seed routes (`POST /tracking/conversiones`),
    /// as the replaced system did. Off by default: recording a conversion needs an API key
    /// with the conversions scope or an ADMIN token. When on, keyless conversions are
    /// always held for review and their commissions are never approved automatically.
    #[arg(long, env = "ALPES_LEGACY_KEYLESS_CONVERSIONS", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub legacy_keyless_conversions: bool,

    /// When a checkout used an affiliate's coupon code and came from another affiliate's
    /// click: `code` (the default) credits the code's affiliate, `click` the click's journey.
    #[arg(long, env = "ALPES_COUPON_PRIORITY", default_value = "code", value_parser = ["code", "click"], global = true)]
    pub coupon_priority: String,

    /// The programme's account that pays affiliates by SEPA credit transfer (the debtor of
    /// the `pain.001` payment file): the account holder's name…
    #[arg(long, env = "ALPES_SEPA_DEBTOR_NAME", global = true)]
    pub sepa_debtor_name: Option<String>,

    /// …its IBAN…
    #[arg(long, env = "ALPES_SEPA_DEBTOR_IBAN", global = true)]
    pub sepa_debtor_iban: Option<String>,

    /// …and, if the bank wants it, its BIC.
    #[arg(long, env = "ALPES_SEPA_DEBTOR_BIC", global = true)]
    pub sepa_debtor_bic: Option<String>,

    /// Lifetime of tokens issued by `login`, in hours.
    #[arg(long, env = "ALPES_TOKEN_TTL_HOURS", default_value_t = 12, global = true)]
    pub token_ttl_hours: i64,

    /// Longest a dashboard, metric or report may take, in milliseconds; past it the request
    /// gets 503 / `TIMEOUT` and its queries are dropped.
    #[arg(long, env = "ALPES_REPORT_TIMEOUT_MS", default_value_t = 30_000, global = true)]
    pub report_timeout_ms: u64,

    /// Longest any HTTP request may take, body upload included (a client sending its body
    /// slowly cannot hold a connection); past it: 503 `TIMEOUT`. Never less than the report
    /// time limit plus a second. WebSocket subscriptions are not requests and are not cut.
    #[arg(long, env = "ALPES_REQUEST_TIMEOUT_MS", default_value_t = 60_000, global = true)]
    pub request_timeout_ms: u64,

    /// Days raw interactions are kept; older ones are deleted in small batches by a background
    /// job. Rollups, conversions, journeys, commissions and money are kept whatever it says.
    /// Unset keeps every interaction.
    #[arg(long, env = "ALPES_RETENTION_DAYS", global = true)]
    pub retention_days: Option<u32>,

    /// Days a Stripe event is kept as sent (customer name, email, phone, address, IPs: what
    /// Pipedrive and Meta deliveries and their retries read). After that its personal values
    /// are replaced by hashes; replays still work.
    #[arg(long, env = "ALPES_STRIPE_RAW_DAYS", default_value_t = 3, global = true)]
    pub stripe_raw_days: u32,

    /// Meta Conversions API: the pixel (dataset) id. With the access token, turns Meta CAPI on.
    #[arg(long, env = "META_CAPI_PIXEL_ID", global = true)]
    pub meta_capi_pixel_id: Option<String>,

    /// Meta Conversions API access token.
    #[arg(long, env = "META_CAPI_ACCESS_TOKEN", hide_env_values = true, global = true)]
    pub meta_capi_access_token: Option<String>,

    /// Graph API version used for Meta CAPI.
    #[arg(long, env = "META_CAPI_API_VERSION", default_value = "v24.0", global = true)]
    pub meta_capi_api_version: String,

    /// Meta test event code (events then show in Events Manager's test tab only).
    #[arg(long, env = "META_CAPI_TEST_EVENT_CODE", global = true)]
    pub meta_capi_test_event_code: Option<String>,

    /// Base URL of the Graph API.
    #[arg(long, env = "META_CAPI_BASE_URL", default_value = "https://graph.facebook.com", global = true)]
    pub meta_capi_base_url: String,

    /// Google Ads customer id the conversions are uploaded to (digits; dashes are dropped).
    #[arg(long, env = "GOOGLE_ADS_CUSTOMER_ID", global = true)]
    pub google_ads_customer_id: Option<String>,

    /// Google Ads conversion action id.
    #[arg(long, env = "GOOGLE_ADS_CONVERSION_ACTION_ID", global = true)]
    pub google_ads_conversion_action_id: Option<String>,

    /// Google Ads API developer token.
    #[arg(long, env = "GOOGLE_ADS_DEVELOPER_TOKEN", hide_env_values = true, global = true)]
    pub google_ads_developer_token: Option<String>,

    /// OAuth client id for Google Ads.
    #[arg(long, env = "GOOGLE_ADS_CLIENT_ID", global = true)]
    pub google_ads_client_id: Option<String>,

    /// OAuth client secret for Google Ads.
    #[arg(long, env = "GOOGLE_ADS_CLIENT_SECRET", hide_env_values = true, global = true)]
    pub google_ads_client_secret: Option<String>,

    /// OAuth refresh token for Google Ads (access tokens are obtained from it and cached until expiry).
    #[arg(long, env = "GOOGLE_ADS_REFRESH_TOKEN", hide_env_values = true, global = true)]
    pub google_ads_refresh_token: Option<String>,

    /// Manager account id sent as `login-customer-id`, when access goes through one.
    #[arg(long, env = "GOOGLE_ADS_LOGIN_CUSTOMER_ID", global = true)]
    pub google_ads_login_customer_id: Option<String>,

    /// Base URL of the Google Ads API.
    #[arg(long, env = "GOOGLE_ADS_BASE_URL", default_value = "https://googleads.googleapis.com", global = true)]
    pub google_ads_base_url: String,

    /// Google's OAuth token endpoint.
    #[arg(long, env = "GOOGLE_ADS_TOKEN_URL", default_value = "https://oauth2.googleapis.com/token", global = true)]
    pub google_ads_token_url: String,

    /// Pipedrive API token. Turns Pipedrive on.
    #[arg(long, env = "PIPEDRIVE_API_TOKEN", hide_env_values = true, global = true)]
    pub pipedrive_api_token: Option<String>,

    /// Base URL of the Pipedrive API (a company domain such as `https://acme.pipedrive.com` works too).
    #[arg(long, env = "PIPEDRIVE_BASE_URL", default_value = "https://api.pipedrive.com", global = true)]
    pub pipedrive_base_url: String,

    /// Attempts per outbound delivery before it is DEAD.
    #[arg(long, env = "ALPES_DELIVERY_MAX_ATTEMPTS", default_value_t = 8, global = true)]
    pub delivery_max_attempts: i32,

    /// First retry delay of an outbound delivery, in ms; it doubles with each attempt (with jitter).
    #[arg(long, env = "ALPES_DELIVERY_BACKOFF_BASE_MS", default_value_t = 2000, global = true)]
    pub delivery_backoff_base_ms: u64,

    /// Timeout of each request to an integration, in ms.
    #[arg(long, env = "ALPES_INTEGRATION_TIMEOUT_MS", default_value_t = 10_000, global = true)]
    pub integration_timeout_ms: u64,

    /// NATS server of the event bus (JetStream), e.g. `nats://127.0.0.1:4222`. Unset: events stay in this process.
    #[arg(long, env = "ALPES_NATS_URL", global = true)]
    pub nats_url: Option<String>,

    /// Subject prefix on the bus: events go to `<prefix>.<topic>`, in the stream named after it.
    #[arg(long, env = "ALPES_NATS_PREFIX", default_value = "alpes", global = true)]
    pub nats_prefix: String,

    /// Days each stream group keeps its messages, overriding seed 004's defaults, e.g.
    /// `comisiones=730,sistema=3` (groups: afiliados 30, conversiones 90, marketing 60,
    /// comisiones 365, auditoria 365, sistema 7).
    #[arg(long, env = "ALPES_NATS_RETENTION_DAYS", default_value = "", global = true)]
    pub nats_retention_days: String,

    /// Bytes each JetStream stream may hold before its oldest messages are dropped; 0 = no limit.
    #[arg(long, env = "ALPES_NATS_MAX_BYTES", default_value_t = 0, global = true)]
    pub nats_max_bytes: u64,

    /// Copies of each message in a clustered JetStream (1–5).
    #[arg(long, env = "ALPES_NATS_REPLICAS", default_value_t = 1, global = true)]
    pub nats_replicas: usize,

    /// Approve calculated commissions without a person when the policy below allows it.
    #[arg(long, env = "ALPES_COMMISSION_AUTO_APPROVE", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub commission_auto_approve: bool,

    /// Automatic approval only below this conversion fraud score (0–100).
    #[arg(long, env = "ALPES_COMMISSION_AUTO_APPROVE_MAX_FRAUD_SCORE", default_value_t = 30, global = true)]
    pub commission_auto_approve_max_fraud_score: i32,

    /// Days after a conversion before its commission may be approved automatically (refund window).
    #[arg(long, env = "ALPES_COMMISSION_HOLDING_DAYS", default_value_t = 30, global = true)]
    pub commission_holding_days: i64,
    #[command(flatten)]
    pub attribution: AttributionSettings,
}

/// How conversions are attributed and when they are held for review.
#[derive(Debug, Clone, Args)]
pub struct AttributionSettings {
    /// Model of conversions whose campaign does not choose one (LAST_CLICK, FIRST_CLICK, LINEAR, TIME_DECAY, POSITION_BASED, MARKOV).
    #[arg(long, env = "ALPES_ATTRIBUTION_MODEL", default_value = "LAST_CLICK", global = true)]
    pub attribution_model: String,

    /// Lookback window in days of conversions without a campaign.
    #[arg(long, env = "ALPES_ATTRIBUTION_LOOKBACK_DAYS", default_value_t = 30, global = true)]
    pub attribution_lookback_days: u32,

    /// Half-life of the TIME_DECAY model, in days.
    #[arg(long, env = "ALPES_TIME_DECAY_HALF_LIFE_DAYS", default_value_t = 7.0, global = true)]
    pub time_decay_half_life_days: f64,

    /// Days of journeys (converting and not) the MARKOV model is fitted on.
    #[arg(long, env = "ALPES_MARKOV_PERIOD_DAYS", default_value_t = 90, global = true)]
    pub markov_period_days: u32,

    /// Fraud score (0–100) from which a conversion is held for review instead of credited.
    #[arg(long, env = "ALPES_FRAUD_HOLD_THRESHOLD", default_value_t = 70, global = true)]
    pub fraud_hold_threshold: i32,

    /// A conversion this many seconds or fewer after its click raises the fraud score.
    #[arg(long, env = "ALPES_FRAUD_MIN_CLICK_SECONDS", default_value_t = 5, global = true)]
    pub fraud_min_click_seconds: i64,

    /// More clicks than this from one IP in an hour raise the fraud score.
    #[arg(long, env = "ALPES_FRAUD_MAX_CLICKS_PER_IP_HOUR", default_value_t = 20, global = true)]
    pub fraud_max_clicks_per_ip_hour: u64,
}

impl Default for AttributionSettings {
    fn default() -> Self {
        Self {
            attribution_model: "LAST_CLICK".into(),
            attribution_lookback_days: 30,
            time_decay_half_life_days: crate::domain::attribution::DEFAULT_HALF_LIFE_DAYS,
            markov_period_days: 90,
            fraud_hold_threshold: 70,
            fraud_min_click_seconds: 5,
            fraud_max_clicks_per_ip_hour: 20,
        }
    }
}

impl AttributionSettings {
    pub fn fraud_policy(&self) -> crate::domain::fraud::FraudPolicy {
        crate::domain::fraud::FraudPolicy {
            min_click_to_conversion_secs: self.fraud_min_click_seconds,
            max_clicks_per_ip_hour: self.fraud_max_clicks_per_ip_hour,
            hold_threshold: self.fraud_hold_threshold,
            ..Default::default()
        }
    }

    /// The default model, as stored on campaigns.
    pub fn default_model(&self) -> Result<entity::campaigns::AttributionModel, AppError> {
        use entity::campaigns::AttributionModel as M;
        match self.attribution_model.trim().to_ascii_uppercase().as_str() {
            "LAST_CLICK" => Ok(M::LastClick),
            "FIRST_CLICK" => Ok(M::FirstClick),
            "LINEAR" => Ok(M::Linear),
            "TIME_DECAY" => Ok(M::TimeDecay),
            "POSITION_BASED" => Ok(M::PositionBased),
            "MARKOV" => Ok(M::Markov),
            _ => Err(AppError::validation(
                "ALPES_ATTRIBUTION_MODEL",
                "ALPES_ATTRIBUTION_MODEL must be one of LAST_CLICK, FIRST_CLICK, LINEAR, TIME_DECAY, POSITION_BASED, MARKOV",
            )),
        }
    }

    fn validate(&self) -> Result<(), AppError> {
        self.default_model()?;
        if !(1..=365).contains(&self.attribution_lookback_days) {
            return Err(AppError::validation(
                "ALPES_ATTRIBUTION_LOOKBACK_DAYS",
                "ALPES_ATTRIBUTION_LOOKBACK_DAYS must be between 1 and 365",
            ));
        }
        if !(self.time_decay_half_life_days.is_finite() && self.time_decay_half_life_days > 0.0) {
            return Err(AppError::validation(
                "ALPES_TIME_DECAY_HALF_LIFE_DAYS",
                "ALPES_TIME_DECAY_HALF_LIFE_DAYS must be a positive number of days",
            ));
        }
        if !(1..=3650).contains(&self.markov_period_days) {
            return Err(AppError::validation(
                "ALPES_MARKOV_PERIOD_DAYS",
                "ALPES_MARKOV_PERIOD_DAYS must be between 1 and 3650",
            ));
        }
        if !(1..=100).contains(&self.fraud_hold_threshold) {
            return Err(AppError::validation(
                "ALPES_FRAUD_HOLD_THRESHOLD",
                "ALPES_FRAUD_HOLD_THRESHOLD must be between 1 and 100",
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |value: &Option<String>| if value.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("Config")
            .field("database_url", &self.database_url.as_deref().map(redact))
            .field("data_dir", &self.data_dir)
            .field("addr", &self.addr)
            .field("jwt_secret", &set(&self.jwt_secret))
            .field("admin_email", &self.admin_email)
            .field("admin_password", &set(&self.admin_password))
            .field("ip_hash_salt", &set(&self.ip_hash_salt))
            .field("stripe_webhook_secret", &set(&self.stripe_webhook_secret))
            .field("nats_url", &self.nats_url.as_deref().map(redact))
            .field("meta_capi_pixel_id", &self.meta_capi_pixel_id)
            .field("meta_capi_access_token", &set(&self.meta_capi_access_token))
            .field("google_ads_customer_id", &self.google_ads_customer_id)
            .field("google_ads_developer_token", &set(&self.google_ads_developer_token))
            .field("google_ads_client_secret", &set(&self.google_ads_client_secret))
            .field("google_ads_refresh_token", &set(&self.google_ads_refresh_token))
            .field("pipedrive_api_token", &set(&self.pipedrive_api_token))
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The database URL in force: the given one, or the embedded SQLite file.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("alpes.db").display()),
        }
    }

    /// The Stripe signing secrets in force (none: the webhook route answers 503).
    pub fn stripe_webhook_secrets(&self) -> Vec<String> {
        self.stripe_webhook_secret
            .iter()
            .flat_map(|s| s.split([',', ' ']))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The automatic commission approval policy in force.
    pub fn auto_approval_policy(&self) -> crate::domain::commission::AutoApprovalPolicy {
        crate::domain::commission::AutoApprovalPolicy {
            enabled: self.commission_auto_approve,
            max_fraud_score: self.commission_auto_approve_max_fraud_score,
            holding: chrono::Duration::days(self.commission_holding_days),
        }
    }

    /// How the bus's JetStream streams are kept.
    pub fn stream_settings(&self) -> Result<crate::events::bus::StreamSettings, AppError> {
        let retention_days =
            crate::events::bus::StreamSettings::parse_retention(&self.nats_retention_days).map_err(|e| {
                AppError::validation("ALPES_NATS_RETENTION_DAYS", format!("ALPES_NATS_RETENTION_DAYS: {e}"))
            })?;
        if !(1..=5).contains(&self.nats_replicas) {
            return Err(AppError::validation("ALPES_NATS_REPLICAS", "ALPES_NATS_REPLICAS must be between 1 and 5"));
        }
        Ok(crate::events::bus::StreamSettings {
            retention_days,
            max_bytes: self.nats_max_bytes,
            replicas: self.nats_replicas,
        })
    }

    /// The base of public links, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.addr),
        }
    }

    /// How long an HTTP request may take: `ALPES_REQUEST_TIMEOUT_MS`, but never less than a
    /// report may take plus a second.
    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.request_timeout_ms.max(self.report_timeout_ms + 1_000))
    }

    /// Checks what clap cannot: fails fast with a message a person can act on.
    pub fn validate(&self) -> Result<(), AppError> {
        let url = self.effective_database_url();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(AppError::validation("DATABASE_URL", "DATABASE_URL must start with sqlite: or postgres://"));
        }
        if let Some(secret) = &self.jwt_secret {
            if secret.len() < 32 {
                return Err(AppError::validation(
                    "ALPES_JWT_SECRET",
                    "ALPES_JWT_SECRET must be at least 32 characters",
                ));
            }
        }
        if self.admin_email.is_some() != self.admin_password.is_some() && self.admin_password.is_some() {
            return Err(AppError::validation(
                "ALPES_ADMIN_EMAIL",
                "ALPES_ADMIN_PASSWORD is set but ALPES_ADMIN_EMAIL is not",
            ));
        }
        if let Some(password) = &self.admin_password {
            crate::domain::validate::password(password)?;
        }
        if let Some(email) = &self.admin_email {
            crate::domain::validate::email(email)?;
        }
        if let Some(url) = &self.public_url {
            crate::domain::validate::http_url(url, "ALPES_PUBLIC_URL")?;
        }
        if !(0..=100).contains(&self.commission_auto_approve_max_fraud_score) {
            return Err(AppError::validation(
                "ALPES_COMMISSION_AUTO_APPROVE_MAX_FRAUD_SCORE",
                "ALPES_COMMISSION_AUTO_APPROVE_MAX_FRAUD_SCORE must be between 0 and 100",
            ));
        }
        if !(0..=3650).contains(&self.commission_holding_days) {
            return Err(AppError::validation(
                "ALPES_COMMISSION_HOLDING_DAYS",
                "ALPES_COMMISSION_HOLDING_DAYS must be between 0 and 3650",
            ));
        }
        for (value, name) in [
            (&self.meta_capi_base_url, "META_CAPI_BASE_URL"),
            (&self.google_ads_base_url, "GOOGLE_ADS_BASE_URL"),
            (&self.google_ads_token_url, "GOOGLE_ADS_TOKEN_URL"),
            (&self.pipedrive_base_url, "PIPEDRIVE_BASE_URL"),
        ] {
            crate::domain::validate::http_url(value, name)?;
        }
        if !(1..=100).contains(&self.delivery_max_attempts) {
            return Err(AppError::validation(
                "ALPES_DELIVERY_MAX_ATTEMPTS",
                "ALPES_DELIVERY_MAX_ATTEMPTS must be between 1 and 100",
            ));
        }
        if !(1..=3_600_000).contains(&self.delivery_backoff_base_ms) {
            return Err(AppError::validation(
                "ALPES_DELIVERY_BACKOFF_BASE_MS",
                "ALPES_DELIVERY_BACKOFF_BASE_MS must be between 1 and 3600000",
            ));
        }
        if !(1..=300_000).contains(&self.integration_timeout_ms) {
            return Err(AppError::validation(
                "ALPES_INTEGRATION_TIMEOUT_MS",
                "ALPES_INTEGRATION_TIMEOUT_MS must be between 1 and 300000",
            ));
        }
        self.integrations()?;
        if !(100..=600_000).contains(&self.report_timeout_ms) {
            return Err(AppError::validation(
                "ALPES_REPORT_TIMEOUT_MS",
                "ALPES_REPORT_TIMEOUT_MS must be between 100 and 600000",
            ));
        }
        if !(1_000..=3_600_000).contains(&self.request_timeout_ms) {
            return Err(AppError::validation(
                "ALPES_REQUEST_TIMEOUT_MS",
                "ALPES_REQUEST_TIMEOUT_MS must be between 1000 and 3600000",
            ));
        }
        if !(1..=3650).contains(&self.stripe_raw_days) {
            return Err(AppError::validation(
                "ALPES_STRIPE_RAW_DAYS",
                "ALPES_STRIPE_RAW_DAYS must be between 1 and 3650",
            ));
        }
        if let Some(days) = self.retention_days {
            let least = self.attribution.attribution_lookback_days;
            if !(least..=36_500).contains(&days) {
                return Err(AppError::validation(
                    "ALPES_RETENTION_DAYS",
                    format!(
                        "ALPES_RETENTION_DAYS must be between the attribution lookback ({least} days) and 36500: \
                         attribution reads the touches inside the lookback"
                    ),
                ));
            }
        }
        if !(1..=24 * 365).contains(&self.token_ttl_hours) {
            return Err(AppError::validation(
                "ALPES_TOKEN_TTL_HOURS",
                "ALPES_TOKEN_TTL_HOURS must be between 1 and 8760",
            ));
        }
        let prefix_ok = !self.nats_prefix.is_empty()
            && self.nats_prefix.len() <= 64
            && self.nats_prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !prefix_ok {
            return Err(AppError::validation(
                "ALPES_NATS_PREFIX",
                "ALPES_NATS_PREFIX must be 1 to 64 letters, digits, '_' or '-'",
            ));
        }
        self.stream_settings()?;
        if let Some(iban) = &self.sepa_debtor_iban {
            crate::domain::iban::parse(iban, "ALPES_SEPA_DEBTOR_IBAN")
                .map_err(|e| AppError::validation("ALPES_SEPA_DEBTOR_IBAN", format!("ALPES_SEPA_DEBTOR_IBAN: {e}")))?;
        }
        if let Some(bic) = &self.sepa_debtor_bic {
            crate::domain::iban::bic(bic, "ALPES_SEPA_DEBTOR_BIC")
                .map_err(|e| AppError::validation("ALPES_SEPA_DEBTOR_BIC", format!("ALPES_SEPA_DEBTOR_BIC: {e}")))?;
        }
        if self.sepa_debtor_iban.is_some() != self.sepa_debtor_name.as_deref().is_some_and(|n| !n.trim().is_empty()) {
            return Err(AppError::validation(
                "ALPES_SEPA_DEBTOR_NAME",
                "ALPES_SEPA_DEBTOR_NAME and ALPES_SEPA_DEBTOR_IBAN go together (the account that pays SEPA transfers)",
            ));
        }
        crate::domain::money::Currency::parse(&self.currency, "ALPES_CURRENCY").map_err(|_| {
            AppError::validation("ALPES_CURRENCY", "ALPES_CURRENCY must be a currency code such as USD")
        })?;
        self.attribution.validate()
    }

    /// A configuration for tests and tools: defaults, with the given database.
    pub fn for_database(database_url: &str, data_dir: PathBuf) -> Self {
        Self {
            database_url: Some(database_url.to_string()),
            data_dir,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            jwt_secret: Some("test-secret-test-secret-test-secret-000".into()),
            admin_email: None,
            admin_password: None,
            ip_hash_salt: Some("test-salt".into()),
            public_url: Some("http://alpes.test".into()),
            ingest_rate_limit_per_ip: 0,
            stripe_webhook_secret: Some("whsec_test_secret".into()),
            trust_forwarded_for: false,
            graphql_max_depth: 12,
            graphql_max_complexity: 2000,
            graphql_introspection: true,
            legacy_keyless_conversions: false,
            max_event_age_days: None,
            currency: "USD".into(),
            coupon_priority: "code".into(),
            sepa_debtor_name: None,
            sepa_debtor_iban: None,
            sepa_debtor_bic: None,
            graphiql: true,
            token_ttl_hours: 12,
            report_timeout_ms: 30_000,
            request_timeout_ms: 60_000,
            retention_days: None,
            stripe_raw_days: 3,
            meta_capi_pixel_id: None,
            meta_capi_access_token: None,
            meta_capi_api_version: "v24.0".into(),
            meta_capi_test_event_code: None,
            meta_capi_base_url: "https://graph.facebook.com".into(),
            google_ads_customer_id: None,
            google_ads_conversion_action_id: None,
            google_ads_developer_token: None,
            google_ads_client_id: None,
            google_ads_client_secret: None,
            google_ads_refresh_token: None,
            google_ads_login_customer_id: None,
            google_ads_base_url: "https://googleads.googleapis.com".into(),
            google_ads_token_url: "https://oauth2.googleapis.com/token".into(),
            pipedrive_api_token: None,
            pipedrive_base_url: "https://api.pipedrive.com".into(),
            delivery_max_attempts: 8,
            delivery_backoff_base_ms: 2000,
            integration_timeout_ms: 10_000,
            nats_url: None,
            nats_prefix: "alpes".into(),
            nats_retention_days: String::new(),
            nats_max_bytes: 0,
            nats_replicas: 1,
            commission_auto_approve: true,
            commission_auto_approve_max_fraud_score: 30,
            commission_holding_days: 30,
            attribution: AttributionSettings::default(),
        }
    }

    /// The outbound integrations in force: each one is on when its required settings are
    /// all set; some but not all of them set is an error naming the first missing one.
    pub fn integrations(&self) -> Result<IntegrationSettings, AppError> {
        let meta = required(&[
            (&self.meta_capi_pixel_id, "META_CAPI_PIXEL_ID"),
            (&self.meta_capi_access_token, "META_CAPI_ACCESS_TOKEN"),
        ])?
        .map(|v| MetaCapiSettings {
            pixel_id: v[0].clone(),
            access_token: v[1].clone(),
            api_version: self.meta_capi_api_version.trim().to_string(),
            test_event_code: present(&self.meta_capi_test_event_code),
            base_url: self.meta_capi_base_url.trim_end_matches('/').to_string(),
        });
        let google = required(&[
            (&self.google_ads_customer_id, "GOOGLE_ADS_CUSTOMER_ID"),
            (&self.google_ads_conversion_action_id, "GOOGLE_ADS_CONVERSION_ACTION_ID"),
            (&self.google_ads_developer_token, "GOOGLE_ADS_DEVELOPER_TOKEN"),
            (&self.google_ads_client_id, "GOOGLE_ADS_CLIENT_ID"),
            (&self.google_ads_client_secret, "GOOGLE_ADS_CLIENT_SECRET"),
            (&self.google_ads_refresh_token, "GOOGLE_ADS_REFRESH_TOKEN"),
        ])?
        .map(|v| GoogleAdsSettings {
            customer_id: v[0].replace('-', ""),
            conversion_action_id: v[1].clone(),
            developer_token: v[2].clone(),
            client_id: v[3].clone(),
            client_secret: v[4].clone(),
            refresh_token: v[5].clone(),
            login_customer_id: present(&self.google_ads_login_customer_id).map(|id| id.replace('-', "")),
            base_url: self.google_ads_base_url.trim_end_matches('/').to_string(),
            token_url: self.google_ads_token_url.clone(),
        });
        let pipedrive = required(&[(&self.pipedrive_api_token, "PIPEDRIVE_API_TOKEN")])?.map(|v| PipedriveSettings {
            api_token: v[0].clone(),
            base_url: self.pipedrive_base_url.trim_end_matches('/').to_string(),
        });
        Ok(IntegrationSettings {
            meta,
            google,
            pipedrive,
            max_attempts: self.delivery_max_attempts,
            backoff_base: std::time::Duration::from_millis(self.delivery_backoff_base_ms),
            timeout: std::time::Duration::from_millis(self.integration_timeout_ms),
        })
    }
}

fn present(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// All of a group set: their values; none set: `None`; some set: the first missing one is an error.
fn required(group: &[(&Option<String>, &str)]) -> Result<Option<Vec<String>>, AppError> {
    let values: Vec<Option<String>> = group.iter().map(|(v, _)| present(v)).collect();
    if values.iter().all(Option::is_none) {
        return Ok(None);
    }
    match values.iter().position(Option::is_none) {
        Some(missing) => {
            let (_, name) = group[missing];
            let set = group.iter().find(|(v, _)| present(v).is_some()).map(|(_, n)| *n).unwrap_or_default();
            Err(AppError::validation(name, format!("{set} is set but {name} is not")))
        }
        None => Ok(Some(values.into_iter().flatten().collect())),
    }
}

/// Meta Conversions API settings (all required ones present).
#[derive(Clone)]
pub struct MetaCapiSettings {
    pub pixel_id: String,
    pub access_token: String,
    pub api_version: String,
    pub test_event_code: Option<String>,
    pub base_url: String,
}

/// Google Ads offline click conversion settings.
#[derive(Clone)]
pub struct GoogleAdsSettings {
    pub customer_id: String,
    pub conversion_action_id: String,
    pub developer_token: String,
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub login_customer_id: Option<String>,
    pub base_url: String,
    pub token_url: String,
}

/// Pipedrive settings.
#[derive(Clone)]
pub struct PipedriveSettings {
    pub api_token: String,
    pub base_url: String,
}

/// Every outbound integration that is on, and how deliveries are retried.
#[derive(Clone)]
pub struct IntegrationSettings {
    pub meta: Option<MetaCapiSettings>,
    pub google: Option<GoogleAdsSettings>,
    pub pipedrive: Option<PipedriveSettings>,
    pub max_attempts: i32,
    pub backoff_base: std::time::Duration,
    pub timeout: std::time::Duration,
}

impl IntegrationSettings {
    /// The integrations that are on, in a fixed order.
    pub fn enabled(&self) -> Vec<entity::integration_deliveries::Integration> {
        use entity::integration_deliveries::Integration;
        let mut on = Vec::new();
        if self.meta.is_some() {
            on.push(Integration::MetaCapi);
        }
        if self.google.is_some() {
            on.push(Integration::GoogleAds);
        }
        if self.pipedrive.is_some() {
            on.push(Integration::Pipedrive);
        }
        on
    }
}

/// A random secret kept in `data_dir/name`, made (readable by the owner only) on first
/// use, so that it survives restarts: the JWT key, the IP-hash salt.
pub fn kept_secret(data_dir: &std::path::Path, name: &str) -> anyhow::Result<String> {
    let path = data_dir.join(name);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if existing.trim().len() >= 32 {
            return Ok(existing.trim().to_string());
        }
    }
    use rand::RngCore;
    let mut bytes = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    std::fs::create_dir_all(data_dir)?;
    write_private(&path, &secret)?;
    tracing::info!(path = %path.display(), "generated {name}");
    Ok(secret)
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
        file.write_all(contents.as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, contents)
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                // NATS takes a bare token there (`nats://<token>@host`).
                None if url.starts_with("nats") || url.starts_with("tls") => {
                    format!("{}***{}", &url[..scheme + 3], &url[at..])
                }
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod redact_tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("nats://s3cret-token@bus:4222"), "nats://***@bus:4222");
        assert_eq!(redact("nats://alpes:pw@bus:4222"), "nats://alpes:***@bus:4222");
    }
}

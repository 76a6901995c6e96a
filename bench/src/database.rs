//! The database Alpes runs on during a benchmark: a SQLite file in the scratch directory,
//! or a fresh PostgreSQL database created with `psql` and dropped at the end.

use std::{path::Path, process::Command};

use anyhow::{bail, Context};
use reqwest::Url;

pub enum BenchDatabase {
    Sqlite {
        url: String,
    },
    Postgres {
        /// Where `CREATE DATABASE` / `DROP DATABASE` run (the URL given on the command line).
        admin_url: String,
        name: String,
        url: String,
        keep: bool,
    },
}

impl BenchDatabase {
    /// SQLite in `data_dir` when `postgres` is `None`; otherwise a new database
    /// `alpes_bench_<random>` on that PostgreSQL server.
    pub fn prepare(postgres: Option<&str>, data_dir: &Path, keep: bool) -> anyhow::Result<Self> {
        let Some(admin_url) = postgres else {
            return Ok(Self::Sqlite { url: format!("sqlite://{}?mode=rwc", data_dir.join("alpes.db").display()) });
        };
        let name = format!("alpes_bench_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let url = database_url(admin_url, &name)?;
        psql(admin_url, &format!("CREATE DATABASE {name}")).with_context(|| format!("creating the database {name}"))?;
        Ok(Self::Postgres { admin_url: admin_url.to_string(), name, url, keep })
    }

    /// The PostgreSQL database `name` on the server of `admin_url`, created when it does not
    /// exist yet, and kept at the end (the reads bench's `--reuse` fills it once).
    pub fn kept_postgres(admin_url: &str, name: &str) -> anyhow::Result<Self> {
        let url = database_url(admin_url, name)?;
        if psql(&url, "SELECT 1").is_err() {
            psql(admin_url, &format!("CREATE DATABASE {name}"))
                .with_context(|| format!("creating the database {name}"))?;
        }
        Ok(Self::Postgres { admin_url: admin_url.to_string(), name: name.to_string(), url, keep: true })
    }

    /// Empties a kept database before it is filled again.
    pub fn recreate(&self) -> anyhow::Result<()> {
        if let Self::Postgres { admin_url, name, .. } = self {
            psql(admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
            psql(admin_url, &format!("CREATE DATABASE {name}"))
                .with_context(|| format!("creating the database {name}"))?;
        }
        Ok(())
    }

    /// The `DATABASE_URL` Alpes gets.
    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url } | Self::Postgres { url, .. } => url,
        }
    }

    /// `sqlite` or `postgresql`, as in the JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgresql",
        }
    }

    pub fn label(&self) -> String {
        match self {
            Self::Sqlite { .. } => "SQLite".into(),
            Self::Postgres { name, .. } => format!("PostgreSQL (database {name})"),
        }
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name, keep, .. } = self {
            if *keep {
                eprintln!("kept the PostgreSQL database {name}");
            } else if let Err(err) = psql(admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")) {
                eprintln!("warning: could not drop the database {name}: {err:#}");
            }
        }
    }
}

/// The server URL with its database name replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let mut url = Url::parse(admin_url).with_context(|| format!("--database {admin_url:?} is not a URL"))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        bail!("--database must be a postgres:// URL (SQLite is the default when it is not given)");
    }
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// Runs one SQL statement with `psql` against `url`.
fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow::anyhow!(
                    "psql is not installed; install the PostgreSQL client (apt-get install postgresql-client)"
                )
            } else {
                anyhow::Error::new(e).context("running psql")
            }
        })?;
    if !output.status.success() {
        bail!("psql {sql:?} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_replaces_the_path() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "alpes_bench_x").unwrap(),
            "postgres://postgres@127.0.0.1:5432/alpes_bench_x"
        );
        assert_eq!(
            database_url("postgresql://u:p@db:6543?sslmode=disable", "b").unwrap(),
            "postgresql://u:p@db:6543/b?sslmode=disable"
        );
        assert!(database_url("sqlite://x.db", "b").is_err());
        assert!(database_url("not a url", "b").is_err());
    }
}

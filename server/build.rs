//! Builds the admin SPA (`web/`) into `web/dist`, which the binary embeds. Installs the locked
//! packages when `node_modules` is missing or older than the lock file, then `npm run build`
//! (GraphQL types generated from `schema.graphql`, type check, Vite bundle). Needs Node.js and
//! npm. `npm install --no-save` rather than `npm ci`: it installs the same locked versions, but
//! does not refuse a lock file that lists only this platform's optional bundler binaries.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::SystemTime,
};

/// The files of `web/` (besides `src/`) that the build reads, and the schema it types from.
const INPUTS: [&str; 9] = [
    "package.json",
    "package-lock.json",
    "index.html",
    "graphiql.html",
    "docs.html",
    "vite.config.ts",
    "codegen.ts",
    "tsconfig.json",
    "../schema.graphql",
];

fn main() {
    let web = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into())).join("../web");
    println!("cargo:rerun-if-changed={}", web.join("src").display());
    for watched in INPUTS {
        println!("cargo:rerun-if-changed={}", web.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=ALPES_SKIP_WEB_BUILD");
    revision(&web.join(".."));

    let dist_index = web.join("dist/index.html");
    // For machines without Node.js that were handed a built `web/dist`.
    if std::env::var_os("ALPES_SKIP_WEB_BUILD").is_some() && dist_index.exists() {
        return;
    }
    if dist_index.exists() && newest(&web.join("src")).max(inputs_mtime(&web)) <= mtime(&dist_index) {
        return;
    }
    let installed = web.join("node_modules/.package-lock.json");
    if !installed.exists() || mtime(&web.join("package-lock.json")) > mtime(&installed) {
        npm(&web, &["install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error"]);
    }
    npm(&web, &["run", "build"]);
}

/// The git revision the binary is built from (`ALPES_GIT_REVISION`, shown by `--version`
/// and `/health`): `unknown` outside a git checkout (a source archive, a Docker context
/// without `.git`), `-dirty` with uncommitted changes.
fn revision(root: &Path) {
    let git = root.join(".git");
    println!("cargo:rerun-if-changed={}", git.join("HEAD").display());
    if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
        if let Some(reference) = head.trim().strip_prefix("ref: ") {
            println!("cargo:rerun-if-changed={}", git.join(reference).display());
        }
    }
    println!("cargo:rerun-if-env-changed=ALPES_GIT_REVISION");
    let from_git = || {
        let run = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .current_dir(root)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let commit = run(&["rev-parse", "--short=12", "HEAD"])?;
        let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        Some(if dirty { format!("{commit}-dirty") } else { commit })
    };
    let revision = std::env::var("ALPES_GIT_REVISION").ok().filter(|r| !r.is_empty()).or_else(from_git);
    println!("cargo:rustc-env=ALPES_GIT_REVISION={}", revision.unwrap_or_else(|| "unknown".into()));
}

fn npm(dir: &Path, args: &[&str]) {
    let status = Command::new("npm").args(args).current_dir(dir).status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("`npm {}` in web/ failed ({s}); the admin app must build", args.join(" ")),
        Err(e) => panic!("cannot run npm ({e}): building Alpes needs Node.js 20+ and npm for the admin app (web/)"),
    }
}

fn inputs_mtime(web: &Path) -> SystemTime {
    INPUTS.iter().map(|f| mtime(&web.join(f))).max().unwrap_or(SystemTime::UNIX_EPOCH)
}

fn mtime(path: &Path) -> SystemTime {
    path.metadata().and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Newest modification time of any file under `dir`.
fn newest(dir: &Path) -> SystemTime {
    let mut best = mtime(dir);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            // Generated types are written by the build itself.
            if path.ends_with("gql") {
                continue;
            }
            let t = if path.is_dir() { newest(&path) } else { mtime(&path) };
            best = best.max(t);
        }
    }
    best
}

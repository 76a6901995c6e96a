//! The `alpes` binary: everything lives in the library; this only hands over.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    alpes::cli::run().await
}

//! Server processes under test: start, wait until healthy, read peak memory, stop, kill.

use std::{
    fs::File,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context};
use tokio::time::Instant;

/// How long a server gets to answer `GET /health` after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server gets to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A loopback address with a port that was free a moment ago.
pub fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?)
}

/// A scratch directory for one run; removed on drop unless kept.
pub struct ScratchDir {
    path: PathBuf,
    keep: bool,
}

impl ScratchDir {
    pub fn create(keep: bool) -> anyhow::Result<Self> {
        let path =
            std::env::temp_dir().join(format!("alpes-bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { path, keep })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A running server. Killed on drop if still running.
pub struct ServerProcess {
    name: String,
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `command` with its stdout and stderr going to `log`.
    pub fn spawn(name: &str, mut command: Command, addr: SocketAddr, log: PathBuf) -> anyhow::Result<Self> {
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", command.get_program()))?;
        Ok(Self { name: name.to_string(), child, addr, log })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `GET /health` until it answers 200; fails at once if the process exits.
    pub async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let url = format!("{}/health", self.base_url());
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited during start-up ({status}); its log ends with:\n{}", self.name, self.log_tail(30));
            }
            if let Ok(response) = client.get(&url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} did not answer GET /health with 200 within {START_TIMEOUT:?}; its log ends with:\n{}",
                    self.name,
                    self.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Peak resident memory since start (or since the last reset): `VmHWM`, in bytes.
    pub fn peak_rss_bytes(&self) -> Option<u64> {
        self.memory_bytes("VmHWM:")
    }

    /// Resident memory now: `VmRSS`, in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        self.memory_bytes("VmRSS:")
    }

    fn memory_bytes(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// Resets the peak to the current resident size (`echo 5 > /proc/<pid>/clear_refs`),
    /// so the next phase reports its own peak. False where the kernel does not allow it.
    pub fn reset_peak_rss(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }

    /// SIGKILL, as `kill -9`: no chance to flush or clean up.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        self.child.kill().with_context(|| format!("killing {}", self.name))?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM and wait; SIGKILL if it takes longer than the grace period.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        let sent = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        if !sent.is_ok_and(|s| s.success()) {
            return self.kill9();
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!("{} did not exit within {STOP_TIMEOUT:?} of SIGTERM; killing it", self.name);
        self.kill9()
    }

    /// The last `lines` lines of the server's output.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        if tail.trim().is_empty() {
            "  (nothing)".into()
        } else {
            tail
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

//! Real `taawun run` daemons as child processes, for the API and CLI tests.

#![allow(dead_code)] // each test file uses part of this

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a daemon may take to start answering.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A data folder's configuration for tests: loopback, any free port, no mDNS.
pub(crate) const TEST_CONFIG: &str = r#"[network]
listen = ["/ip4/127.0.0.1/tcp/0"]
bootstrap = []
mdns = false

[api]
listen = "127.0.0.1:0"
"#;

/// Runs the binary with `data` as its data folder.
pub(crate) fn taawun(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taawun"))
        .args(args)
        .env("TAAWUN_DATA_DIR", data)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

/// stdout and stderr of a run, for messages.
pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A running daemon; killed when dropped.
#[derive(Debug)]
pub(crate) struct Daemon {
    pub(crate) dir: PathBuf,
    pub(crate) child: Child,
    /// `http://127.0.0.1:port`
    pub(crate) base: String,
    pub(crate) token: String,
    /// This node's public key (hex).
    pub(crate) key: String,
}

impl Daemon {
    /// `taawun init` in `dir` with [`TEST_CONFIG`], then `taawun run`; returns once the
    /// daemon has written its API address and answers on it.
    pub(crate) fn start(dir: &Path) -> Daemon {
        let o = taawun(&["init"], dir);
        assert!(o.status.success(), "init: {}", text(&o));
        std::fs::write(dir.join("config.toml"), TEST_CONFIG).expect("config");
        Self::run(dir)
    }

    /// `taawun run` on an existing data folder.
    pub(crate) fn run(dir: &Path) -> Daemon {
        Self::run_in(dir, None)
    }

    /// `taawun run` on an existing data folder, inside the network namespace `netns`
    /// (`ip netns exec`, which execs the daemon: the child is the daemon itself).
    pub(crate) fn run_in(dir: &Path, netns: Option<&str>) -> Daemon {
        Self::spawn(dir, netns, &[])
    }

    /// `taawun run ARGS` on an existing data folder.
    pub(crate) fn run_args(dir: &Path, args: &[&str]) -> Daemon {
        Self::spawn(dir, None, args)
    }

    fn spawn(dir: &Path, netns: Option<&str>, args: &[&str]) -> Daemon {
        let _ = std::fs::remove_file(dir.join("api-address"));
        let log = std::fs::File::create(dir.join("daemon.log")).expect("log file");
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_taawun")]);
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_taawun")),
        };
        let child = cmd
            .arg("run")
            .args(args)
            .env("TAAWUN_DATA_DIR", dir)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("taawun run starts");
        let token = std::fs::read_to_string(dir.join("api-token"))
            .expect("token")
            .trim()
            .to_owned();
        let key = text(&taawun(&["id"], dir)).trim().to_owned();
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = loop {
            if let Ok(a) = std::fs::read_to_string(dir.join("api-address")) {
                if !a.is_empty() && std::net::TcpStream::connect(a.trim()).is_ok() {
                    break a.trim().to_owned();
                }
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not start: {}",
                std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Daemon {
            dir: dir.to_path_buf(),
            child,
            base: format!("http://{addr}"),
            token,
            key,
        }
    }

    /// The daemon's log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub(crate) fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(Instant::now() < deadline, "the daemon did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! The canteen terminal's full-screen view on a real pseudo-terminal of a fixed size, read
//! back as text: the child gets the pty's slave as its controlling terminal (its own
//! session, so `/dev/tty` is this pty and not the test runner's), everything it writes goes
//! through a VT parser ([`vt100`]), and the test reads the screen as a worker would see it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest wait for a text to appear on the screen.
pub const SCREEN_WAIT: Duration = Duration::from_secs(15);

/// A program running full screen on a pty.
pub struct PtyScreen {
    child: Child,
    master: File,
    parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the program wrote (for sounds: escape sequences the parser drops).
    raw: Arc<Mutex<Vec<u8>>>,
}

fn open_pty(cols: u16, rows: u16) -> (OwnedFd, OwnedFd) {
    let mut master = -1;
    let mut slave = -1;
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two new descriptors into the locals; no name buffer and no
    // termios are passed, the window size is read only.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

impl PtyScreen {
    /// Starts `command` on a `cols`×`rows` pty; its stderr goes to `stderr`.
    pub fn spawn(mut command: Command, cols: u16, rows: u16, stderr: File) -> PtyScreen {
        let (master, slave) = open_pty(cols, rows);
        let slave_out = slave.try_clone().expect("dup slave");
        command
            .stdin(Stdio::from(slave))
            .stdout(Stdio::from(slave_out))
            .stderr(Stdio::from(stderr))
            .env("TERM", "xterm-256color");
        // SAFETY: only async-signal-safe calls between fork and exec: a new session, then
        // the pty (stdin) as its controlling terminal.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("starting the program on the pty");
        let master = File::from(master);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().expect("dup master");
        let (p, r) = (Arc::clone(&parser), Arc::clone(&raw));
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().expect("parser").process(&buf[..n]);
                r.lock().expect("raw").extend_from_slice(&buf[..n]);
            }
        });
        PtyScreen {
            child,
            master,
            parser,
            raw,
        }
    }

    /// The screen as text, one line per row.
    pub fn text(&self) -> String {
        self.parser.lock().expect("parser").screen().contents()
    }

    /// The row of the screen holding `needle`, once one does (waiting as [`Self::wait`]).
    /// Found in the reading that showed it: a second reading may catch the screen half
    /// redrawn (a CI run once missed a row that the reading before had shown).
    pub fn row_with(&self, needle: &str) -> Option<String> {
        let text = self.wait(&format!("a row with {needle:?}"), |t| {
            t.lines().any(|l| l.contains(needle))
        });
        text.lines().find(|l| l.contains(needle)).map(str::to_owned)
    }

    /// Waits until `pred` holds for the screen; fails the test with the screen otherwise.
    pub fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + SCREEN_WAIT;
        loop {
            let text = self.text();
            if pred(&text) {
                return text;
            }
            if Instant::now() > deadline {
                panic!("the screen never showed {what}:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every needle is on the screen at once.
    pub fn wait_for(&self, needles: &[&str]) -> String {
        self.wait(&format!("{needles:?}"), |t| {
            needles.iter().all(|n| t.contains(n))
        })
    }

    /// Bytes written so far (sounds are checked here).
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().expect("raw").clone()
    }

    /// Types keys (raw bytes: `\x1bOQ` is F2, `\r` Enter, `\x1b[B` Down).
    pub fn keys(&mut self, bytes: &str) {
        self.master
            .write_all(bytes.as_bytes())
            .and_then(|()| self.master.flush())
            .expect("typing on the pty");
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Kills the program at once (a crash, or the end of the test).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PtyScreen {
    fn drop(&mut self) {
        self.kill();
    }
}

/// F2, F3, F4 as a terminal sends them.
pub const F2: &str = "\x1bOQ";
pub const F3: &str = "\x1bOR";
pub const F4: &str = "\x1bOS";
pub const ENTER: &str = "\r";
pub const DOWN: &str = "\x1b[B";

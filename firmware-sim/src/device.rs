//! One simulated serial device: a pseudo-terminal pair whose slave end — the end a real
//! program opens — is exposed under a stable path (a symlink), and that can be unplugged
//! and plugged back in.
//!
//! The simulator keeps both ends open while the device is plugged in: the master to write
//! what the device "sends", and the slave so that writes never fail with a hang-up while the
//! program under test is between opens (data written then waits in the pty's buffer).
//! Unplugging removes the symlink first, then closes both ends, so the reader sees the
//! device vanish exactly as a pulled USB cable looks: a failing read and a missing path.

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serialport::{SerialPort, TTYPort};

/// How long a write to a device may block (the pty buffer is full when nobody reads).
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// An open pty pair.
struct Pty {
    master: TTYPort,
    /// Held open only so the pty does not hang up; never read.
    _slave: TTYPort,
    /// The slave's device path, e.g. `/dev/pts/7`.
    slave_path: PathBuf,
}

/// A simulated device at a stable path.
pub struct SimDevice {
    name: &'static str,
    link: PathBuf,
    pty: Option<Pty>,
}

impl SimDevice {
    /// A device called `name` (for messages) that will appear at `link`; starts unplugged.
    pub fn new(name: &'static str, link: impl Into<PathBuf>) -> Self {
        Self {
            name,
            link: link.into(),
            pty: None,
        }
    }

    /// The stable path.
    pub fn link(&self) -> &Path {
        &self.link
    }

    /// Whether the device is plugged in.
    pub fn is_plugged(&self) -> bool {
        self.pty.is_some()
    }

    /// The pty slave the link points to, while plugged in.
    pub fn slave_path(&self) -> Option<&Path> {
        self.pty.as_ref().map(|pty| pty.slave_path.as_path())
    }

    /// Plugs the device in: a new pty pair, the link pointed at its slave.
    ///
    /// An existing symlink at the link path (stale, from an earlier run) is replaced; any
    /// other file there is left alone and is an error.
    pub fn plug(&mut self) -> anyhow::Result<()> {
        if self.is_plugged() {
            bail!("{} is already plugged in", self.name);
        }
        if let Ok(meta) = std::fs::symlink_metadata(&self.link) {
            if !meta.file_type().is_symlink() {
                bail!(
                    "{} exists and is not a symlink; not replacing it",
                    self.link.display()
                );
            }
        }
        let (mut master, slave) = TTYPort::pair().context("creating a pseudo-terminal pair")?;
        master
            .set_timeout(WRITE_TIMEOUT)
            .context("setting the pty write timeout")?;
        let slave_path: PathBuf = slave.name().context("the pty slave has no name")?.into();
        replace_symlink(&slave_path, &self.link)?;
        self.pty = Some(Pty {
            master,
            _slave: slave,
            slave_path,
        });
        Ok(())
    }

    /// Unplugs the device: the link disappears and the pty closes.
    pub fn unplug(&mut self) -> anyhow::Result<()> {
        if !self.is_plugged() {
            bail!("{} is already unplugged", self.name);
        }
        self.remove_link();
        self.pty = None;
        Ok(())
    }

    /// Sends bytes as the device, in one write call when the pty takes them at once.
    pub fn send(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let Some(pty) = self.pty.as_mut() else {
            bail!("{} is unplugged", self.name);
        };
        pty.master
            .write_all(bytes)
            .with_context(|| format!("writing to {} ({})", self.name, pty.slave_path.display()))
    }

    /// Removes the link if it still points at our pty (never someone else's link).
    fn remove_link(&self) {
        let ours = match (std::fs::read_link(&self.link), self.slave_path()) {
            (Ok(target), Some(slave)) => target == slave,
            _ => false,
        };
        if ours {
            let _ = std::fs::remove_file(&self.link);
        }
    }
}

impl Drop for SimDevice {
    fn drop(&mut self) {
        self.remove_link();
    }
}

/// Points `link` at `target`, replacing an existing symlink atomically (rename over it).
fn replace_symlink(target: &Path, link: &Path) -> anyhow::Result<()> {
    let file_name = link
        .file_name()
        .with_context(|| format!("{} is not a file path", link.display()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = link.with_file_name(temp_name);
    let _ = std::fs::remove_file(&temp);
    symlink(target, &temp)
        .with_context(|| format!("creating a symlink next to {}", link.display()))?;
    std::fs::rename(&temp, link).with_context(|| {
        let _ = std::fs::remove_file(&temp);
        format!("moving the symlink to {}", link.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn open_link(link: &Path) -> Box<dyn SerialPort> {
        serialport::new(link.to_string_lossy(), 9600)
            .timeout(Duration::from_secs(5))
            .open()
            .expect("open the device link")
    }

    #[test]
    fn plugged_device_is_readable_at_its_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("card");
        let mut device = SimDevice::new("card", &link);
        device.plug().expect("plug");
        let slave = device.slave_path().expect("plugged").to_path_buf();
        assert_eq!(std::fs::read_link(&link).expect("symlink"), slave);

        let mut port = open_link(&link);
        device.send(b"\x02hi\x03\r").expect("send");
        let mut buf = [0u8; 5];
        port.read_exact(&mut buf).expect("read");
        // Raw mode: no CR translation, control bytes pass as they are.
        assert_eq!(&buf, b"\x02hi\x03\r");
    }

    #[test]
    fn unplug_removes_the_link_and_hangs_up_the_reader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("qr");
        let mut device = SimDevice::new("qr", &link);
        device.plug().expect("plug");
        let mut port = open_link(&link);
        device.unplug().expect("unplug");
        assert!(std::fs::symlink_metadata(&link).is_err(), "link removed");
        let mut buf = [0u8; 1];
        let read = port.read(&mut buf);
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "reader sees the device gone: {read:?}"
        );
        assert!(device.send(b"x").is_err());
        assert!(device.unplug().is_err());

        device.plug().expect("replug");
        assert!(std::fs::read_link(&link).is_ok());
        assert!(device.plug().is_err(), "already plugged");
    }

    #[test]
    fn stale_symlink_is_replaced_other_files_are_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("qr");
        symlink("/nonexistent/pts/99", &link).expect("stale link");
        let mut device = SimDevice::new("qr", &link);
        device.plug().expect("replaces a stale link");
        drop(device);
        assert!(std::fs::symlink_metadata(&link).is_err(), "removed on drop");

        std::fs::write(&link, b"precious").expect("regular file");
        let mut device = SimDevice::new("qr", &link);
        let err = device.plug().expect_err("refuses");
        assert!(err.to_string().contains("not a symlink"), "{err}");
        drop(device);
        assert_eq!(std::fs::read(&link).expect("still there"), b"precious");
    }
}

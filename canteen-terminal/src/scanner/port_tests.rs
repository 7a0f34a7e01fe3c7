//! Tests of [`super::DeviceReader`] against real pseudo-terminals: a pty pair stands in for
//! a device, a symlink for its stable path, and closing the pty for pulling the cable.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

use super::*;
use crate::scanner::rdm6300::encode_frame;
use crate::scanner::{CardFrames, LineEnding, QrFrames, Scan};

const WAIT: Duration = Duration::from_secs(10);

/// A simulated device: the master end we write to, and the slave end kept open so writes
/// never fail while the reader is between opens.
struct FakeDevice {
    master: TTYPort,
    _slave: TTYPort,
}

impl FakeDevice {
    /// A new pty pair, its slave exposed at `link`.
    fn plug(link: &Path) -> Self {
        let (master, slave) = TTYPort::pair().expect("pty pair");
        let name = slave.name().expect("slave has a name");
        let _ = std::fs::remove_file(link);
        std::os::unix::fs::symlink(name, link).expect("symlink");
        Self {
            master,
            _slave: slave,
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("write to pty master");
    }

    /// Pulls the cable: the path disappears and the pty closes.
    fn unplug(self, link: &Path) {
        std::fs::remove_file(link).expect("remove link");
        drop(self);
    }
}

fn fast_config(link: &Path, baud: u32) -> PortConfig {
    let mut config = PortConfig::new(link.to_string_lossy(), baud);
    config.read_timeout = Duration::from_millis(50);
    config.backoff_min = Duration::from_millis(20);
    config.backoff_max = Duration::from_millis(200);
    config
}

fn next(rx: &Receiver<ScannerEvent>) -> ScannerEvent {
    rx.recv_timeout(WAIT).expect("an event within the timeout")
}

fn expect_state(rx: &Receiver<ScannerEvent>, device: DeviceKind, state: DeviceState) {
    assert_eq!(next(rx), ScannerEvent::Device { device, state });
}

/// The next scan; a partial frame cut by the unplug reads as unreadable first.
fn expect_scan(rx: &Receiver<ScannerEvent>) -> Scan {
    loop {
        match next(rx) {
            ScannerEvent::Scan { scan, .. } => return scan,
            ScannerEvent::Unreadable { .. } => continue,
            other => panic!("expected a scan, got {other:?}"),
        }
    }
}

#[test]
fn backoff_doubles_up_to_the_maximum_and_resets() {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
    let waits: Vec<u128> = (0..7).map(|_| backoff.next_wait().as_millis()).collect();
    assert_eq!(waits, [100, 200, 400, 800, 1600, 2000, 2000]);
    backoff.reset();
    assert_eq!(backoff.next_wait(), Duration::from_millis(100));
}

#[test]
fn card_reader_survives_unplug_and_replug() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("card");
    let mut device = FakeDevice::plug(&link);
    let (tx, rx) = mpsc::channel();
    let decoder = CardFrames::new(Duration::from_millis(500));
    let reader = DeviceReader::spawn(DeviceKind::Card, fast_config(&link, 9600), decoder, tx)
        .expect("spawn reader");
    expect_state(&rx, DeviceKind::Card, DeviceState::Connected);

    let uid = "0102ABCDEF".parse().expect("uid");
    let mut bytes = b"noise".to_vec();
    bytes.extend(encode_frame(&uid));
    device.write(&bytes);
    assert_eq!(expect_scan(&rx), Scan::Card(uid));

    device.unplug(&link);
    expect_state(&rx, DeviceKind::Card, DeviceState::Disconnected);
    // Stays quiet while the device is away, however many reopen attempts fail.
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());

    let mut device = FakeDevice::plug(&link);
    expect_state(&rx, DeviceKind::Card, DeviceState::Reconnected);
    // The same card right after replugging is a new read: the debounce was reset.
    device.write(&encode_frame(&uid));
    assert_eq!(expect_scan(&rx), Scan::Card(uid));
    drop(reader);
}

#[test]
fn qr_reader_reports_a_missing_device_then_finds_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("qr");
    let (tx, rx) = mpsc::channel();
    let decoder = QrFrames::new(LineEnding::Cr, 512);
    let _reader = DeviceReader::spawn(DeviceKind::Qr, fast_config(&link, 115_200), decoder, tx)
        .expect("spawn reader");
    expect_state(&rx, DeviceKind::Qr, DeviceState::Disconnected);

    let mut device = FakeDevice::plug(&link);
    expect_state(&rx, DeviceKind::Qr, DeviceState::Connected);
    device.write(b"SW1:AB");
    device.write(b"CD\r\nsecond\r");
    assert_eq!(expect_scan(&rx), Scan::Qr("SW1:ABCD".into()));
    assert_eq!(expect_scan(&rx), Scan::Qr("second".into()));
}

#[test]
fn reader_thread_ends_when_nobody_listens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("gone");
    let (tx, rx) = mpsc::channel::<ScannerEvent>();
    drop(rx);
    let reader = DeviceReader::spawn(
        DeviceKind::Qr,
        fast_config(&link, 9600),
        QrFrames::new(LineEnding::Cr, 512),
        tx,
    )
    .expect("spawn reader");
    // Joins the thread: would hang if the thread ignored the closed channel and the stop flag.
    drop(reader);
}

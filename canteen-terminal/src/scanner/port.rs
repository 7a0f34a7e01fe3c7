//! Reading a serial device on its own thread, through unplugging and replugging.
//!
//! Serial reads block, and a canteen device gets unplugged, kicked and plugged back in the
//! middle of a lunch break. [`DeviceReader`] owns one device: it opens the port, reads it on a
//! dedicated std thread, feeds a [`FrameDecoder`] and sends [`ScannerEvent`]s down a
//! `std::sync::mpsc` channel. When the device disappears — a read error, end of file (a pty
//! whose other side closed gives EIO, a hang-up or 0 bytes), or a path that is not there —
//! it reports `Disconnected` once, then tries to open the path again with a doubling backoff
//! and reports `Reconnected` when that works.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::{DeviceKind, DeviceState, FrameDecoder, ScannerEvent};

/// Where and how to open a device.
#[derive(Debug, Clone)]
pub struct PortConfig {
    /// Path of the serial device (or of a symlink to it).
    pub path: String,
    /// Baud rate (8N1 is implied).
    pub baud: u32,
    /// How long one read waits before checking whether the reader was asked to stop.
    pub read_timeout: Duration,
    /// First wait before reopening a device that is gone.
    pub backoff_min: Duration,
    /// Longest wait between attempts to reopen.
    pub backoff_max: Duration,
}

impl PortConfig {
    /// Defaults for a device at `path`: 200 ms read timeout, backoff 100 ms doubling to 2 s.
    pub fn new(path: impl Into<String>, baud: u32) -> Self {
        Self {
            path: path.into(),
            baud,
            read_timeout: Duration::from_millis(200),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
        }
    }
}

/// A doubling wait between reconnection attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `min`, doubles on every [`Backoff::next_wait`] up to `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            next: min,
        }
    }

    /// The wait before the next attempt.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    /// Back to the shortest wait (the device worked).
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// One device read on its own thread. Dropping it stops the thread.
#[derive(Debug)]
pub struct DeviceReader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DeviceReader {
    /// Starts reading `device` as configured, sending what it decodes to `events`.
    ///
    /// The thread ends when the reader is dropped or when `events` has no receiver left.
    pub fn spawn<D: FrameDecoder, E: From<ScannerEvent> + Send + 'static>(
        device: DeviceKind,
        config: PortConfig,
        decoder: D,
        events: Sender<E>,
    ) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            device,
            config,
            events,
            stop: Arc::clone(&stop),
            ever_connected: false,
            last_state: None,
        };
        let thread = std::thread::Builder::new()
            .name(format!("{device}-reader"))
            .spawn(move || worker.run(decoder))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for DeviceReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("a device reader thread panicked");
            }
        }
    }
}

/// How one connection ended.
enum Ended {
    /// The reader was asked to stop, or nobody listens any more.
    Stop,
    /// The device went away.
    Gone { reason: String, got_data: bool },
}

/// The state of the reader thread.
struct Worker<E> {
    device: DeviceKind,
    config: PortConfig,
    events: Sender<E>,
    stop: Arc<AtomicBool>,
    ever_connected: bool,
    last_state: Option<DeviceState>,
}

impl<E: From<ScannerEvent>> Worker<E> {
    fn run<D: FrameDecoder>(mut self, mut decoder: D) {
        let mut backoff = Backoff::new(self.config.backoff_min, self.config.backoff_max);
        while !self.stopped() {
            match self.open() {
                Ok(port) => {
                    let state = if self.ever_connected {
                        DeviceState::Reconnected
                    } else {
                        DeviceState::Connected
                    };
                    self.ever_connected = true;
                    tracing::info!(device = %self.device, path = %self.config.path, "device open");
                    if !self.report(state) {
                        return;
                    }
                    decoder.reset();
                    match self.pump(port, &mut decoder) {
                        Ended::Stop => return,
                        Ended::Gone { reason, got_data } => {
                            tracing::warn!(device = %self.device, %reason, "device gone");
                            if got_data {
                                backoff.reset();
                            }
                            if !self.report(DeviceState::Disconnected) {
                                return;
                            }
                        }
                    }
                }
                Err(error) => {
                    if self.last_state != Some(DeviceState::Disconnected) {
                        tracing::warn!(device = %self.device, path = %self.config.path,
                            %error, "cannot open device; will keep trying");
                        if !self.report(DeviceState::Disconnected) {
                            return;
                        }
                    }
                }
            }
            self.sleep(backoff.next_wait());
        }
    }

    fn open(&self) -> serialport::Result<Box<dyn serialport::SerialPort>> {
        serialport::new(self.config.path.as_str(), self.config.baud)
            .timeout(self.config.read_timeout)
            .open()
    }

    /// Reads until the device goes away or the reader is stopped.
    fn pump<D: FrameDecoder>(
        &self,
        mut port: Box<dyn serialport::SerialPort>,
        decoder: &mut D,
    ) -> Ended {
        let mut buf = [0u8; 256];
        let mut got_data = false;
        loop {
            if self.stopped() {
                return Ended::Stop;
            }
            let n = match port.read(&mut buf) {
                Ok(0) => {
                    let reason = "end of file".to_owned();
                    return Ended::Gone { reason, got_data };
                }
                Ok(n) => n,
                Err(e) if is_transient(&e) => continue,
                Err(e) => {
                    return Ended::Gone {
                        reason: e.to_string(),
                        got_data,
                    }
                }
            };
            got_data = true;
            let at = OffsetDateTime::now_utc();
            let scans = decoder.feed(&buf[..n], Instant::now());
            let unreadable = decoder
                .take_unreadable()
                .then_some(ScannerEvent::Unreadable {
                    device: self.device,
                    at,
                });
            let events = unreadable.into_iter().chain(
                scans
                    .into_iter()
                    .map(|scan| ScannerEvent::Scan { at, scan }),
            );
            for event in events {
                if self.events.send(E::from(event)).is_err() {
                    return Ended::Stop;
                }
            }
        }
    }

    /// Sends a state change; false when nobody listens any more.
    fn report(&mut self, state: DeviceState) -> bool {
        self.last_state = Some(state);
        let event = ScannerEvent::Device {
            device: self.device,
            state,
        };
        self.events.send(E::from(event)).is_ok()
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Waits `total`, waking early if the reader is stopped.
    fn sleep(&self, total: Duration) {
        let deadline = Instant::now() + total;
        while !self.stopped() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}

/// Errors that mean "nothing to read yet", not "the device is gone".
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
    )
}

#[cfg(test)]
#[path = "port_tests.rs"]
mod tests;

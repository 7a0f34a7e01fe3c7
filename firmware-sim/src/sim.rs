//! The simulator: two devices driven by commands, one answer per command.
//!
//! Every command is answered on its own line with `ok` or `error: <why>`, and the simulator
//! keeps going after an error, so a script or a test can drive it step by step and know
//! each step has happened (the bytes are in the pty) before it looks at the reader.

use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::Context;

use crate::command::{self, Command, Device, Target};
use crate::device::SimDevice;
use crate::frames::{qr_line, rdm6300_frame, LineEnding, Noise};

/// Pause between the two halves of `scan-split`.
const SPLIT_PAUSE: Duration = Duration::from_millis(20);

/// Whether to go on after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next command.
    Continue,
    /// Stop (the `quit` command).
    Quit,
}

/// The simulated QR scanner and card reader.
pub struct Sim {
    qr: SimDevice,
    card: SimDevice,
    ending: LineEnding,
    noise: Noise,
}

impl Sim {
    /// Both devices plugged in at their links.
    pub fn start(
        qr_link: &std::path::Path,
        card_link: &std::path::Path,
        ending: LineEnding,
        seed: u64,
    ) -> anyhow::Result<Self> {
        let mut sim = Self {
            qr: SimDevice::new("qr", qr_link),
            card: SimDevice::new("card", card_link),
            ending,
            noise: Noise::new(seed),
        };
        sim.qr.plug().context("plugging in the QR scanner")?;
        sim.card.plug().context("plugging in the card reader")?;
        Ok(sim)
    }

    /// The line announcing the simulator is ready.
    pub fn ready_line(&self) -> String {
        format!(
            "ready qr={} card={}",
            self.qr.link().display(),
            self.card.link().display()
        )
    }

    fn device(&mut self, device: Device) -> &mut SimDevice {
        match device {
            Device::Qr => &mut self.qr,
            Device::Card => &mut self.card,
        }
    }

    /// Carries out one command.
    pub fn execute(&mut self, command: Command) -> anyhow::Result<Flow> {
        match command {
            Command::Scan(text) => self.qr.send(&qr_line(&text, self.ending))?,
            Command::ScanSplit(text) => {
                let line = qr_line(&text, self.ending);
                let (first, second) = line.split_at(text.len() / 2);
                self.qr.send(first)?;
                std::thread::sleep(SPLIT_PAUSE);
                self.qr.send(second)?;
            }
            Command::Card { uid, bad_checksum } => {
                self.card.send(&rdm6300_frame(&uid, bad_checksum))?;
            }
            Command::CardsGlued(uids) => {
                let bytes: Vec<u8> = uids.iter().flat_map(|u| rdm6300_frame(u, false)).collect();
                self.card.send(&bytes)?;
            }
            Command::Noise {
                bytes,
                device: Device::Card,
            } => {
                let noise = self.noise.card_noise(bytes);
                self.card.send(&noise)?;
            }
            Command::Noise {
                bytes,
                device: Device::Qr,
            } => {
                let noise = self.noise.qr_noise(bytes, self.ending);
                self.qr.send(&noise)?;
            }
            Command::Unplug(target) => self.each(target, false)?,
            Command::Replug(target) => self.each(target, true)?,
            Command::Sleep(duration) => std::thread::sleep(duration),
            Command::Quit => return Ok(Flow::Quit),
        }
        Ok(Flow::Continue)
    }

    /// Unplugs (`plug == false`) or replugs the target devices.
    ///
    /// Replugging a device that is plugged in unplugs it first (a fresh pty); `all` skips
    /// devices that are already unplugged when unplugging.
    fn each(&mut self, target: Target, plug: bool) -> anyhow::Result<()> {
        let devices: &[Device] = match target {
            Target::One(device) => &[device][..],
            Target::All => &[Device::Qr, Device::Card],
        };
        for &device in devices {
            let sim_device = self.device(device);
            if plug {
                if sim_device.is_plugged() {
                    sim_device.unplug()?;
                }
                sim_device.plug()?;
            } else if sim_device.is_plugged() || target != Target::All {
                sim_device.unplug()?;
            }
        }
        Ok(())
    }

    /// Reads commands from `input` until `quit` or end of input, answering each on `output`.
    pub fn run(&mut self, input: impl BufRead, mut output: impl Write) -> anyhow::Result<()> {
        for line in input.lines() {
            let line = line.context("reading commands")?;
            let answer = match command::parse(&line) {
                Ok(None) => continue,
                Ok(Some(command)) => self.execute(command).map_err(|e| format!("{e:#}")),
                Err(why) => Err(why),
            };
            match &answer {
                Ok(_) => writeln!(output, "ok"),
                Err(why) => writeln!(output, "error: {why}"),
            }
            .and_then(|()| output.flush())
            .context("writing the answer")?;
            if answer == Ok(Flow::Quit) {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serialport::SerialPort;
    use std::io::Read;

    fn open(link: &std::path::Path) -> Box<dyn SerialPort> {
        serialport::new(link.to_string_lossy(), 9600)
            .timeout(Duration::from_secs(5))
            .open()
            .expect("open link")
    }

    fn read_n(port: &mut Box<dyn SerialPort>, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        port.read_exact(&mut buf).expect("read");
        buf
    }

    #[test]
    fn script_drives_both_devices_and_answers_every_command() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (qr_link, card_link) = (dir.path().join("qr"), dir.path().join("card"));
        let mut sim = Sim::start(&qr_link, &card_link, LineEnding::Crlf, 1).expect("start");
        assert_eq!(
            sim.ready_line(),
            format!(
                "ready qr={} card={}",
                qr_link.display(),
                card_link.display()
            )
        );
        let (mut qr, mut card) = (open(&qr_link), open(&card_link));
        let script = "scan SW1:A B\n# comment\n\nscan-split hello\ncard 0102abcdef\n\
                      card 62E3086CED badsum\ncards-glued 0000000001 0000000002\n\
                      dance\nnoise 3 card\nsleep 1\n";
        let mut out = Vec::new();
        sim.run(script.as_bytes(), &mut out).expect("run");
        let answers = String::from_utf8(out).expect("utf-8");
        let answers: Vec<&str> = answers.lines().collect();
        assert_eq!(answers.len(), 8, "{answers:?}");
        assert!(answers[5].starts_with("error: unknown command \"dance\""));
        for (i, answer) in answers.iter().enumerate().filter(|(i, _)| *i != 5) {
            assert_eq!(*answer, "ok", "answer {i}");
        }
        assert_eq!(read_n(&mut qr, 16), b"SW1:A B\r\nhello\r\n");
        let frames = read_n(&mut card, 4 * 14 + 3);
        assert_eq!(&frames[..14], b"\x020102ABCDEF8A\x03");
        assert_eq!(&frames[14..28], b"\x0262E3086CEDF7\x03");
        assert_eq!(&frames[28..42], b"\x02000000000101\x03");
        assert!(!frames[56..].contains(&crate::frames::STX));

        let mut out = Vec::new();
        let script = "unplug card\nnoise 1 card\nreplug card\nquit\nscan never\n";
        sim.run(script.as_bytes(), &mut out).expect("run");
        let answers = String::from_utf8(out).expect("utf-8");
        assert_eq!(answers, "ok\nerror: card is unplugged\nok\nok\n");
        assert!(std::fs::read_link(&card_link).is_ok(), "replugged");
    }

    #[test]
    fn unplug_all_and_replug_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (qr_link, card_link) = (dir.path().join("qr"), dir.path().join("card"));
        let mut sim = Sim::start(&qr_link, &card_link, LineEnding::Cr, 1).expect("start");
        let mut out = Vec::new();
        let script = "unplug qr\nunplug all\nunplug card\nreplug\nreplug qr\n";
        sim.run(script.as_bytes(), &mut out).expect("run");
        let answers = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            answers,
            "ok\nok\nerror: card is already unplugged\nok\nok\n"
        );
        assert!(std::fs::read_link(&qr_link).is_ok() && std::fs::read_link(&card_link).is_ok());
        drop(sim);
        assert!(
            std::fs::symlink_metadata(&qr_link).is_err(),
            "links removed at the end"
        );
        assert!(std::fs::symlink_metadata(&card_link).is_err());
    }
}

//! The line discipline of uml's terminals (Linux's `n_tty`, in part): what bytes typed on a
//! terminal (written to a pty master) become for its readers, what its writers' bytes
//! become on the screen, and which typed characters are signals.
//!
//! Input: `ISTRIP`, `IGNCR`/`ICRNL`/`INLCR`; with `ISIG`, the `INTR`/`QUIT`/`SUSP`
//! characters raise `SIGINT`/`SIGQUIT`/`SIGTSTP` (and flush pending input and unread
//! output unless `NOFLSH`); with `ICANON`, lines are edited (`ERASE`, `WERASE` with `IEXTEN`, `KILL`)
//! and handed to readers whole, ended by `NL`, `EOL`, `EOL2` or `EOF` (an `EOF` at the
//! start of a line reads as end of file); without it bytes are readable at once, subject
//! to `VMIN`/`VTIME` (the caller's timing). Echo: `ECHO` (control characters as `^X` with
//! `ECHOCTL`), `ECHOE`, `ECHOK`/`ECHOKE`, `ECHONL`. Output: `OPOST` with `ONLCR`, `OCRNL`.
//! Not done: flow control (`IXON`: `START`/`STOP` are ordinary characters), `LNEXT`,
//! `REPRINT`, parity and breaks, tab expansion and column tracking.
//!
//! Invariants: readers see only completed lines in canonical mode; the input side holds at
//! most [`INPUT_MAX`] bytes and the output side [`OUTPUT_MAX`] (echoes past that are lost,
//! as Linux drops them when the screen side is full).

use std::collections::VecDeque;

use abi::flags::termios::*;
use abi::signal::sig;
use abi::structs::Termios;

/// Bytes of typed input a terminal holds (Linux's `N_TTY_BUF_SIZE`).
pub(crate) const INPUT_MAX: usize = 4096;
/// Bytes of output waiting for the master's reader.
pub(crate) const OUTPUT_MAX: usize = 65536;

/// Linux's `tty_std_termios` as a pty slave starts: `ICRNL IXON`, `OPOST ONLCR`,
/// `B38400 CS8 CREAD`, `ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN`.
pub(crate) fn default_termios() -> Termios {
    Termios {
        c_iflag: ICRNL | IXON,
        c_oflag: OPOST | ONLCR,
        c_cflag: B38400 | CS8 | CREAD,
        c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
        c_line: 0,
        c_cc: INIT_C_CC,
    }
}

/// Readable input: in canonical mode one chunk per line (an empty chunk made by `EOF` reads
/// as end of file); in raw mode bytes are appended to the last chunk.
struct Chunk {
    data: Vec<u8>,
    off: usize,
}

/// One terminal's line discipline state.
pub(crate) struct Ldisc {
    pub termios: Termios,
    ready: VecDeque<Chunk>,
    /// The line being edited (canonical mode).
    edit: Vec<u8>,
    /// Output for the master's reader (echoes and processed writes).
    pub output: VecDeque<u8>,
    /// Signals raised by typed characters, not yet sent.
    pub signals: Vec<i32>,
}

impl Ldisc {
    pub fn new() -> Ldisc {
        Ldisc {
            termios: default_termios(),
            ready: VecDeque::new(),
            edit: Vec::new(),
            output: VecDeque::new(),
            signals: Vec::new(),
        }
    }

    fn lflag(&self, f: u32) -> bool {
        self.termios.c_lflag & f != 0
    }

    fn cc(&self, i: usize) -> Option<u8> {
        // _POSIX_VDISABLE is 0 on Linux.
        Some(self.termios.c_cc[i]).filter(|&c| c != 0)
    }

    pub fn canonical(&self) -> bool {
        self.lflag(ICANON)
    }

    /// `VMIN` and `VTIME` (tenths of a second).
    pub fn min_time(&self) -> (u8, u8) {
        (self.termios.c_cc[VMIN], self.termios.c_cc[VTIME])
    }

    /// Bytes a read could take now.
    pub fn readable_len(&self) -> usize {
        self.ready.iter().map(|c| c.data.len() - c.off).sum()
    }

    /// Whether a read would return now (a line, or an end of file, in canonical mode).
    pub fn has_input(&self) -> bool {
        if self.canonical() {
            !self.ready.is_empty()
        } else {
            self.readable_len() > 0
        }
    }

    /// Room for more typed bytes.
    pub fn input_room(&self) -> usize {
        INPUT_MAX.saturating_sub(self.readable_len() + self.edit.len())
    }

    /// New settings: leaving canonical mode makes the line being edited readable.
    pub fn set_termios(&mut self, t: &Termios) {
        let was_canon = self.canonical();
        self.termios = *t;
        if was_canon && !self.canonical() && !self.edit.is_empty() {
            let data = std::mem::take(&mut self.edit);
            self.ready.push_back(Chunk { data, off: 0 });
        }
    }

    /// Drops pending input (`TCIFLUSH`, a signal character).
    pub fn flush_input(&mut self) {
        self.ready.clear();
        self.edit.clear();
    }

    /// Moves readable input into `out`: at most one line in canonical mode. Returns the
    /// count (0 for an end-of-file line or nothing ready).
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let canon = self.canonical();
        let mut done = 0;
        while done < out.len() {
            let Some(c) = self.ready.front_mut() else {
                break;
            };
            let n = (out.len() - done).min(c.data.len() - c.off);
            out[done..done + n].copy_from_slice(&c.data[c.off..c.off + n]);
            c.off += n;
            done += n;
            if c.off == c.data.len() {
                self.ready.pop_front();
                if canon {
                    break;
                }
            } else if canon {
                break;
            }
        }
        done
    }

    /// Output processing of one byte written by the slave side (or echoed).
    fn put(&mut self, c: u8) {
        let o = self.termios.c_oflag;
        if o & OPOST != 0 {
            if c == b'\n' && o & ONLCR != 0 {
                self.output.extend(b"\r\n");
                return;
            }
            if c == b'\r' && o & OCRNL != 0 {
                self.output.push_back(b'\n');
                return;
            }
        }
        self.output.push_back(c);
    }

    /// Writes from the slave side: as many bytes of `data` as fit; returns that count.
    pub fn write(&mut self, data: &[u8]) -> usize {
        let mut n = 0;
        for &c in data {
            if self.output.len() + 2 > OUTPUT_MAX {
                break;
            }
            self.put(c);
            n += 1;
        }
        n
    }

    fn echo_char(&mut self, c: u8) {
        if self.output.len() + 2 > OUTPUT_MAX {
            return;
        }
        let ctl = (c < 0x20 && c != b'\t' && c != b'\n') || c == 0x7f;
        if ctl && self.lflag(ECHOCTL) {
            self.output.push_back(b'^');
            self.output.push_back(c ^ 0x40);
        } else {
            self.put(c);
        }
    }

    /// Visually erases the last character of the line being edited.
    fn erase_one(&mut self) -> bool {
        let Some(c) = self.edit.pop() else {
            return false;
        };
        if self.lflag(ECHO) && self.lflag(ECHOE) {
            let ctl = (c < 0x20 && c != b'\t') || c == 0x7f;
            let width = if ctl && self.lflag(ECHOCTL) { 2 } else { 1 };
            for _ in 0..width {
                self.output.extend(b"\x08 \x08");
            }
        }
        true
    }

    fn end_line(&mut self) {
        let data = std::mem::take(&mut self.edit);
        self.ready.push_back(Chunk { data, off: 0 });
    }

    /// Typed bytes (a write to the master): processes as many as there is room for and
    /// returns that count. A line being edited never fills the room (what overflows it is
    /// dropped, as Linux does), so a line end always goes in.
    pub fn receive(&mut self, data: &[u8]) -> usize {
        let mut n = 0;
        for &b in data {
            if self.input_room() == 0 {
                break;
            }
            self.receive_one(b);
            n += 1;
        }
        n
    }

    fn receive_one(&mut self, mut c: u8) {
        let i = self.termios.c_iflag;
        if i & ISTRIP != 0 {
            c &= 0x7f;
        }
        if c == b'\r' {
            if i & IGNCR != 0 {
                return;
            }
            if i & ICRNL != 0 {
                c = b'\n';
            }
        } else if c == b'\n' && i & INLCR != 0 {
            c = b'\r';
        }
        let echo = self.lflag(ECHO);
        if self.lflag(ISIG) {
            let signo = [
                (VINTR, sig::SIGINT),
                (VQUIT, sig::SIGQUIT),
                (VSUSP, sig::SIGTSTP),
            ]
            .into_iter()
            .find(|&(k, _)| self.cc(k) == Some(c))
            .map(|(_, s)| s);
            if let Some(s) = signo {
                // Linux also drops output the master has not read yet.
                if !self.lflag(NOFLSH) {
                    self.flush_input();
                    self.output.clear();
                }
                if echo {
                    self.echo_char(c);
                }
                self.signals.push(s);
                return;
            }
        }
        if !self.canonical() {
            match self.ready.back_mut() {
                Some(last) if !last.data.is_empty() => last.data.push(c),
                _ => self.ready.push_back(Chunk {
                    data: vec![c],
                    off: 0,
                }),
            }
            if echo {
                self.echo_char(c);
            }
            return;
        }
        if Some(c) == self.cc(VERASE) {
            if !self.erase_one() && echo && !self.lflag(ECHOE) {
                self.echo_char(c);
            }
            return;
        }
        if Some(c) == self.cc(VWERASE) && self.lflag(IEXTEN) {
            while self.edit.last().is_some_and(|b| b.is_ascii_whitespace()) {
                self.erase_one();
            }
            while self.edit.last().is_some_and(|b| !b.is_ascii_whitespace()) {
                self.erase_one();
            }
            return;
        }
        if Some(c) == self.cc(VKILL) {
            if echo && self.lflag(ECHOK) && self.lflag(ECHOKE) && self.lflag(ECHOE) {
                while self.erase_one() {}
            } else {
                self.edit.clear();
                if echo {
                    self.echo_char(c);
                    if self.lflag(ECHOK) {
                        self.put(b'\n');
                    }
                }
            }
            return;
        }
        if Some(c) == self.cc(VEOF) {
            self.end_line();
            return;
        }
        let eol = c == b'\n' || Some(c) == self.cc(VEOL) || Some(c) == self.cc(VEOL2);
        if !eol && self.edit.len() >= INPUT_MAX - 1 {
            return;
        }
        self.edit.push(c);
        if echo || (c == b'\n' && self.lflag(ECHONL)) {
            self.echo_char(c);
        }
        if eol {
            self.end_line();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(l: &mut Ldisc, s: &[u8]) -> Vec<u8> {
        assert_eq!(l.receive(s), s.len());
        l.output.drain(..).collect()
    }

    fn read_all(l: &mut Ldisc) -> Vec<u8> {
        let mut buf = [0u8; 256];
        let n = l.read(&mut buf);
        buf[..n].to_vec()
    }

    #[test]
    fn canonical_lines_with_erase_and_kill() {
        let mut l = Ldisc::new();
        let echo = typed(&mut l, b"ab\x7fc\rxyz\x15q\n");
        assert_eq!(echo, b"ab\x08 \x08c\r\nxyz\x08 \x08\x08 \x08\x08 \x08q\r\n");
        assert_eq!(read_all(&mut l), b"ac\n");
        assert_eq!(read_all(&mut l), b"q\n");
        assert!(!l.has_input());
        typed(&mut l, b"partial");
        assert!(!l.has_input());
        typed(&mut l, b"\x04");
        assert_eq!(read_all(&mut l), b"partial");
        typed(&mut l, b"\x04");
        assert!(l.has_input());
        assert_eq!(read_all(&mut l), b"");
        assert!(!l.has_input());
    }

    #[test]
    fn signals_flush_and_echo() {
        let mut l = Ldisc::new();
        assert_eq!(typed(&mut l, b"junk\x03"), b"^C");
        assert_eq!(l.signals, vec![sig::SIGINT]);
        assert!(!l.has_input());
        typed(&mut l, b"\n");
        assert_eq!(read_all(&mut l), b"\n");
    }

    #[test]
    fn input_is_bounded() {
        let mut l = Ldisc::new();
        let lines = b"0123456789abcde\n".repeat(1000);
        assert_eq!(l.receive(&lines), INPUT_MAX);
        assert_eq!(l.receive(b"x"), 0);
        let mut l = Ldisc::new();
        assert_eq!(l.receive(&[b'y'; 2 * INPUT_MAX]), 2 * INPUT_MAX);
        assert_eq!(l.receive(b"\n"), 1);
        let mut buf = vec![0u8; 2 * INPUT_MAX];
        assert_eq!(l.read(&mut buf), INPUT_MAX);
    }

    #[test]
    fn raw_mode_and_output_processing() {
        let mut l = Ldisc::new();
        let mut t = l.termios;
        t.c_lflag &= !(ICANON | ECHO | ISIG);
        t.c_iflag &= !ICRNL;
        l.set_termios(&t);
        assert_eq!(typed(&mut l, b"a\r\x03"), b"");
        assert!(l.signals.is_empty());
        assert_eq!(read_all(&mut l), b"a\r\x03");
        assert_eq!(l.write(b"x\ny"), 3);
        assert_eq!(l.output.drain(..).collect::<Vec<_>>(), b"x\r\ny");
    }
}

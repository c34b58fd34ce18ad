//! Timers: events due at a point of the kernel's monotonic clock, in deadline order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use crate::{Ktime, TaskId};

/// Which of a process's timers an alarm is: its `ITIMER_REAL` (`alarm`, `setitimer`) or one
/// of its POSIX timers (`timer_create`), by timer id. Only timers of the wall clocks come
/// here; CPU-time timers are checked by the kernel as it accounts CPU time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AlarmTimer {
    /// The process's `ITIMER_REAL`.
    ItimerReal,
    /// The POSIX timer with this id.
    Posix(i32),
}

/// What happens when a timer expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TimerEvent {
    /// Wake a task blocked with a deadline (it re-checks its syscall's deadline).
    Wake(TaskId),
    /// A timer of process `pid` is due (the kernel checks it still applies, sends its
    /// signal and re-arms it).
    Alarm(i32, AlarmTimer),
}

/// Pending timers. Cancelling is lazy: whoever handles an event checks it still applies.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Ktime, u64, TimerEvent)>>,
    seq: u64,
}

impl Timers {
    /// Arms `event` at `at`.
    pub fn arm(&mut self, at: Ktime, event: TimerEvent) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, event)));
    }

    /// The earliest deadline, if any.
    pub fn next_deadline(&self) -> Option<Ktime> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Removes and returns every event due at `now`, earliest first.
    pub fn expired(&mut self, now: Ktime) -> Vec<TimerEvent> {
        let mut out = Vec::new();
        while let Some(Reverse((at, _, ev))) = self.heap.peek() {
            if *at > now {
                break;
            }
            out.push(*ev);
            self.heap.pop();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expire_in_deadline_order() {
        let ms = |n: u64| Ktime(n * 1_000_000);
        let mut t = Timers::default();
        t.arm(ms(20), TimerEvent::Alarm(2, AlarmTimer::Posix(0)));
        t.arm(ms(10), TimerEvent::Wake(TaskId(1)));
        assert_eq!(t.next_deadline(), Some(ms(10)));
        assert!(t.expired(ms(0)).is_empty());
        assert_eq!(
            t.expired(ms(30)),
            vec![
                TimerEvent::Wake(TaskId(1)),
                TimerEvent::Alarm(2, AlarmTimer::Posix(0))
            ]
        );
        assert_eq!(t.next_deadline(), None);
    }
}

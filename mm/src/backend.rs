//! How the host realises the address spaces (`uml run --mm per-process|single`): what the
//! runner must apply before a thread of a space runs.
//!
//! - [`PerProcess`] (the default): each space has a host process of its own, kept up to date
//!   by the ops queued on the space's [`MmFd`](crate::MmFd) since its last run.
//! - [`Single`]: one host process runs every space in turn, as the 2002 UML's one runner
//!   did with `/proc/mm` and `PTRACE_SWITCH_MM`. A stock host has no switch, so a switch
//!   rewrites the runner's guest range. Eagerly (`single`): the backend keeps a model of what
//!   the host process maps ([`HostImage`]) and sends only the difference to the target's
//!   image, built from its page table (every page it had host-mapped, in runs of contiguous
//!   physical memory): pages the target lacks are unmapped, pages it maps otherwise are
//!   mapped again, and pages both map alike (text and libraries shared since a fork, COW
//!   pages neither wrote) stay, with the host's page-table entries for them. Lazily
//!   (`single-lazy`): everything below `TASK_SIZE` is unmapped and the target's page table
//!   forgets its host mappings, so each touched page faults in again. A resume in the space
//!   that is already there only applies its queued ops, and a space nothing changed since
//!   it was left (no op queued for it) is switched to from the image it had then, without
//!   reading its page table: a switch costs what differs, not what is resident.
//!
//! In both, the page table's host state is the truth about what the host maps; a queue of
//! a space that is not in the host is dropped when the space is rebuilt.

use std::collections::HashMap;

use crate::frames::Frames;
use crate::host_image::HostImage;
use crate::layout::TASK_SIZE;
use crate::procmm::MmFd;
use crate::{MmId, MmOp, Spaces};

/// A realisation of address spaces in the host.
pub trait Backend: Send + Sync {
    /// Its name for `--mm`.
    fn name(&self) -> &'static str;

    /// The ops the runner applies before a thread of space `id` runs; `None` if there is no
    /// such space.
    fn host_ops(&mut self, spaces: &mut Spaces, phys: &Frames, id: MmId) -> Option<Vec<MmOp>>;

    /// Whether one host process runs every space.
    fn one_host(&self) -> bool {
        false
    }

    /// The host side of every space was lost (the runner's host process died): nothing is
    /// host-mapped any more.
    fn host_lost(&mut self, spaces: &mut Spaces) {
        for s in spaces.values_mut() {
            s.mmfd.take_pending();
            s.forget_host();
        }
    }

    /// What switching between spaces has cost, for a backend that switches.
    fn switch_stats(&self) -> Option<SwitchStats> {
        None
    }
}

/// One host process per space.
#[derive(Debug, Default)]
pub struct PerProcess;

impl Backend for PerProcess {
    fn name(&self) -> &'static str {
        "per-process"
    }

    fn host_ops(&mut self, spaces: &mut Spaces, _phys: &Frames, id: MmId) -> Option<Vec<MmOp>> {
        Some(spaces.get_mut(&id)?.mmfd.take_pending())
    }
}

/// One host process for every space, rewritten on each switch.
#[derive(Debug, Default)]
pub struct Single {
    /// The space the host process holds now.
    current: Option<MmId>,
    /// Map the target's pages on a switch (else leave them to faults).
    lazy: bool,
    /// What the host process maps now, when that is known (eager switching, and the host
    /// process neither new nor lost since the last switch).
    image: Option<HostImage>,
    /// The image of each space as the host process held it when the space was left: still
    /// its image on the next switch to it if nothing changed its host side meanwhile (no
    /// op was queued for it), which saves reading its page table again.
    left: HashMap<MmId, HostImage>,
    /// Switches made, and pages mapped by them.
    stats: SwitchStats,
}

/// What switching has cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SwitchStats {
    /// Switches to another space.
    pub switches: u64,
    /// Pages mapped again by switches.
    pub pages: u64,
    /// Host ops the switches issued.
    pub ops: u64,
}

impl Single {
    /// Eager switching: a switch maps every page the target had host-mapped.
    pub fn eager() -> Single {
        Single::default()
    }

    /// Lazy switching: a switch maps nothing; pages fault in again.
    pub fn lazy() -> Single {
        Single {
            lazy: true,
            ..Single::default()
        }
    }
}

impl Backend for Single {
    fn name(&self) -> &'static str {
        if self.lazy {
            "single-lazy"
        } else {
            "single"
        }
    }

    fn host_ops(&mut self, spaces: &mut Spaces, phys: &Frames, id: MmId) -> Option<Vec<MmOp>> {
        let s = spaces.get_mut(&id)?;
        if self.current == Some(id) {
            let ops = s.mmfd.take_pending();
            if let Some(image) = &mut self.image {
                ops.iter().for_each(|op| image.apply(op));
            }
            return Some(ops);
        }
        let unchanged = s.mmfd.pending().is_empty();
        s.mmfd.take_pending();
        let mut out = MmFd::open(id);
        let now = self.image.take();
        if let (Some(prev), Some(img)) = (self.current.replace(id), &now) {
            self.left.insert(prev, img.clone());
        }
        let cached = self.left.remove(&id).filter(|_| unchanged);
        if self.lazy {
            s.forget_host();
            out.write(MmOp::Munmap {
                addr: 0,
                len: TASK_SIZE,
            });
        } else {
            let target = cached.unwrap_or_else(|| {
                if let Some(now) = &now {
                    now.lend_to(s, phys);
                }
                HostImage::of_space(s)
            });
            self.stats.pages += match &now {
                Some(now) => now.switch_to(&target, &mut out),
                None => HostImage::rebuild(&target, &mut out),
            };
            self.image = Some(target);
        }
        if self.left.len() > spaces.len() {
            self.left.retain(|id, _| spaces.contains_key(id));
        }
        let ops = out.take_pending();
        self.stats.switches += 1;
        self.stats.ops += ops.len() as u64;
        Some(ops)
    }

    fn one_host(&self) -> bool {
        true
    }

    fn host_lost(&mut self, spaces: &mut Spaces) {
        // The next switch rebuilds from the page table; what it says is host-mapped is
        // mapped again then (eagerly) or forgotten (lazily), as on any switch.
        self.current = None;
        self.image = None;
        self.left.clear();
        if self.lazy {
            for s in spaces.values_mut() {
                s.forget_host();
            }
        }
    }

    fn switch_stats(&self) -> Option<SwitchStats> {
        Some(self.stats)
    }
}

/// The realisations `uml run --mm` names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MmKind {
    /// One host process per space.
    #[default]
    PerProcess,
    /// One host process; a switch maps the target's pages eagerly.
    Single,
    /// One host process; a switch leaves the target's pages to faults.
    SingleLazy,
}

impl MmKind {
    /// A fresh backend of this kind.
    pub fn backend(self) -> Box<dyn Backend> {
        match self {
            MmKind::PerProcess => Box::new(PerProcess),
            MmKind::Single => Box::new(Single::eager()),
            MmKind::SingleLazy => Box::new(Single::lazy()),
        }
    }

    /// Whether one host process runs every space.
    pub fn is_single(self) -> bool {
        self != MmKind::PerProcess
    }
}

impl std::str::FromStr for MmKind {
    type Err = String;
    fn from_str(s: &str) -> Result<MmKind, String> {
        match s {
            "per-process" => Ok(MmKind::PerProcess),
            "single" => Ok(MmKind::Single),
            "single-lazy" => Ok(MmKind::SingleLazy),
            _ => Err(format!(
                "unknown mm backend {s:?} (per-process, single or single-lazy)"
            )),
        }
    }
}

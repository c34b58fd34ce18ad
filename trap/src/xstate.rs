//! The FP/SSE/AVX (XSAVE) state of a guest thread.

/// An XSAVE area of exactly the host's full size (the size `PTRACE_GETREGSET NT_X86_XSTATE`
/// reports), which is the only size `PTRACE_SETREGSET` accepts. Serialisable, as it travels
/// in the runner's messages.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct XState {
    bytes: Vec<u8>,
}

impl XState {
    /// A zeroed area of `size` bytes.
    pub fn zeroed(size: usize) -> XState {
        XState {
            bytes: vec![0; size],
        }
    }
    /// An area holding `bytes` (which must be the host's full XSAVE size to be set).
    pub fn from_bytes(bytes: Vec<u8>) -> XState {
        XState { bytes }
    }
    /// The raw XSAVE bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
    /// The raw XSAVE bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The raw XSAVE bytes, writable.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }
    /// Whether the area is empty (never, for a probed size).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    /// The legacy `MXCSR` value (offset 24 of the FXSAVE header).
    pub fn mxcsr(&self) -> u32 {
        self.bytes
            .get(24..28)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// The 16 bytes of `xmm{n}` (offset 160 + 16n of the legacy area).
    pub fn xmm(&self, n: usize) -> Option<&[u8]> {
        self.bytes.get(160 + 16 * n..176 + 16 * n)
    }
}

//! spandsp's DTMF receiver behind a safe handle.
//!
//! Built only when the build script found libspandsp (`cfg(spandsp)`); otherwise
//! [`SpandspDtmfRx::new`] returns [`SpandspMissing`], which says what to install.

#[cfg(spandsp)]
mod ffi;

use switchboard_media::dtmf::Digit;

/// Samples per analysis block in spandsp's receiver (12.75 ms at 8 kHz). spandsp reports a change
/// only at the end of a block, counting blocks from the receiver's creation.
pub const SPANDSP_BLOCK: u64 = 102;

/// The most changes kept between two calls; a 20 ms frame holds at most two block ends.
const MAX_CHANGES: usize = 16;

/// spandsp is not available in this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "spandsp is not installed: install Debian's libspandsp-dev (`apt-get install libspandsp-dev`) and rebuild"
)]
pub struct SpandspMissing;

/// A change of state spandsp confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToneChange {
    /// A digit started; the level is spandsp's block power of both tones together, in dBm0.
    Started {
        /// The key.
        digit: Digit,
        /// spandsp's level figure in dBm0.
        level_dbm0: i32,
    },
    /// The digit that was on ended.
    Ended,
}

/// The changes reported during one call into spandsp, written by the C callback.
#[derive(Debug)]
struct ChangeSink {
    changes: [Option<ToneChange>; MAX_CHANGES],
    len: usize,
}

impl ChangeSink {
    #[cfg_attr(not(spandsp), allow(dead_code))]
    fn push(&mut self, change: ToneChange) {
        if let Some(slot) = self.changes.get_mut(self.len) {
            *slot = Some(change);
            self.len += 1;
        }
    }
}

/// One spandsp DTMF receiver at 8 kHz, with its default parameters (as Debian ships it).
pub struct SpandspDtmfRx {
    #[cfg(spandsp)]
    state: std::ptr::NonNull<ffi::DtmfRxState>,
    /// Boxed so its address, handed to spandsp as callback data, never moves.
    sink: Box<ChangeSink>,
    #[cfg(not(spandsp))]
    never: std::convert::Infallible,
}

#[cfg(spandsp)]
unsafe extern "C" fn on_tone_report(
    user_data: *mut std::ffi::c_void,
    code: std::ffi::c_int,
    level: std::ffi::c_int,
    _delay: std::ffi::c_int,
) {
    // SAFETY: user_data is the ChangeSink boxed in SpandspDtmfRx, which outlives the receiver
    // state, and spandsp calls back only from inside dtmf_rx, while we hold `&mut self`.
    let sink = unsafe { &mut *user_data.cast::<ChangeSink>() };
    let change = if code == 0 {
        ToneChange::Ended
    } else {
        // spandsp reports the key's ASCII character; anything else is dropped, never panicked
        // on (a panic must not unwind into C).
        match u8::try_from(code)
            .ok()
            .and_then(|c| Digit::from_char(char::from(c)))
        {
            Some(digit) => ToneChange::Started {
                digit,
                level_dbm0: level,
            },
            None => return,
        }
    };
    sink.push(change);
}

impl SpandspDtmfRx {
    /// A fresh receiver, or [`SpandspMissing`] when this build has no spandsp.
    #[cfg(spandsp)]
    pub fn new() -> Result<SpandspDtmfRx, SpandspMissing> {
        let mut sink = Box::new(ChangeSink {
            changes: [None; MAX_CHANGES],
            len: 0,
        });
        let sink_ptr: *mut ChangeSink = &mut *sink;
        // SAFETY: a null state asks spandsp to allocate one; no digit callback is installed.
        let raw = unsafe { ffi::dtmf_rx_init(std::ptr::null_mut(), None, std::ptr::null_mut()) };
        let state = std::ptr::NonNull::new(raw).expect("spandsp failed to allocate a receiver");
        // SAFETY: `state` is a live receiver; `sink_ptr` stays valid as long as `self` does.
        unsafe {
            ffi::dtmf_rx_set_realtime_callback(
                state.as_ptr(),
                Some(on_tone_report),
                sink_ptr.cast(),
            );
        }
        Ok(SpandspDtmfRx { state, sink })
    }

    /// A fresh receiver, or [`SpandspMissing`] when this build has no spandsp.
    #[cfg(not(spandsp))]
    pub fn new() -> Result<SpandspDtmfRx, SpandspMissing> {
        Err(SpandspMissing)
    }

    /// Feeds 8 kHz samples and returns the changes spandsp confirmed while reading them.
    pub fn process(&mut self, pcm: &[i16]) -> impl Iterator<Item = ToneChange> + '_ {
        self.sink.len = 0;
        #[cfg(spandsp)]
        for chunk in pcm.chunks(i32::MAX as usize) {
            // SAFETY: `state` is live, the pointer and length describe `chunk`, and the callback
            // writes only into `sink`, which `&mut self` lets nobody else touch meanwhile.
            unsafe {
                ffi::dtmf_rx(self.state.as_ptr(), chunk.as_ptr(), chunk.len() as i32);
            }
        }
        #[cfg(not(spandsp))]
        {
            let _ = pcm;
            match self.never {}
        }
        #[allow(unreachable_code)]
        self.sink.changes[..self.sink.len].iter().flatten().copied()
    }
}

impl SpandspDtmfRx {
    /// Whether the last block looked like a digit that is not confirmed: called at a block end,
    /// it tells a single-block hit (spandsp's talk-off near miss).
    pub fn unconfirmed_hit(&self) -> bool {
        #[cfg(spandsp)]
        {
            // SAFETY: `state` is live; the call only reads it.
            let status = unsafe { ffi::dtmf_rx_status(self.state.as_ptr()) };
            status == i32::from(b'x')
        }
        #[cfg(not(spandsp))]
        match self.never {}
    }
}

#[cfg(spandsp)]
impl Drop for SpandspDtmfRx {
    fn drop(&mut self) {
        // SAFETY: `state` came from dtmf_rx_init(NULL, …) and is freed exactly once, here.
        unsafe {
            ffi::dtmf_rx_free(self.state.as_ptr());
        }
    }
}

/// Whether this build has spandsp.
pub fn available() -> bool {
    cfg!(spandsp)
}
